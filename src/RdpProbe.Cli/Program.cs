using RdpProbe.Cli;

return await RdpProbeApp.RunAsync(args, CliIo.Standard());
