using System.Text;
using RdpProbe.Cli;

// UTF-8 without a byte-order mark, set explicitly: a Windows console defaults to the OEM/ANSI code page (an em-dash
// becomes byte 0x97, which makes --json output invalid JSON); Linux and macOS are UTF-8 already.
Console.OutputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
return await RdpProbeApp.RunAsync(args, CliIo.Standard());
