using RdpProbe.Fuzz;
using SharpFuzz;

// usage: RdpProbe.Fuzz TARGET            run under afl-fuzz (SharpFuzz, out of process: a crash of the child is caught)
//        RdpProbe.Fuzz TARGET FILE...    replay inputs without AFL (exit 1 and the exception on the first that throws)
//        RdpProbe.Fuzz --seeds DIR       write the generated seed inputs, one directory per target
if (args is ["--seeds", var seedDirectory])
{
    Seeds.Write(seedDirectory);
    return 0;
}

if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: RdpProbe.Fuzz TARGET [FILE...]; targets: {string.Join(", ", Targets.All.Keys)}");
    return 2;
}

if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        target(copy.ToArray());
    });
    return 0;
}

foreach (var file in args[1..])
{
    try
    {
        target(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"{file}: {e}");
        return 1;
    }
}

Console.WriteLine($"{args.Length - 1} input(s) replayed on {args[0]} without an exception");
return 0;
