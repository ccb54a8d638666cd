namespace RdpProbe.Analysis;

/// <summary>
/// Keeps the GC's youngest generation small on every machine. .NET sizes generation 0's allocation budget from the
/// processor's last-level cache: on a Xeon reporting a 260 MiB L3 it is ≈ 80 MiB, and the peak memory of a long
/// analysis grew by as much (the 912k-packet nla file: 130 MiB against 75 MiB with a 16 MiB budget; the live set is
/// ≈ 37 MiB either way). The budget can only be set by the <c>DOTNET_GCgen0size</c> environment variable, which neither
/// runtimeconfig.json nor a Native AOT binary's embedded settings carry, and which a user of a .NET tool would have to
/// set by hand. So the analysis asks for the gen-0 collection itself once <see cref="Bytes"/> were allocated (all
/// threads) since the last one, natural or asked for: the same collections a 16 MiB budget would make, no more.
/// An explicit <c>DOTNET_GCgen0size</c> wins (nothing is asked for then).
/// </summary>
internal sealed class YoungGenerationBudget
{
    /// <summary>Bytes allocated between two gen-0 collections, at most.</summary>
    public const long Bytes = 16L * 1024 * 1024;

    /// <summary>Frames between two checks (a power of two; ≈ 1 MiB of the reader's allocation at 220 B per frame).</summary>
    public const int EveryFrames = 0x1000;

    private static readonly bool ConfiguredByUser =
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_GCgen0size"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("COMPlus_GCgen0size"));

    private readonly Func<long> _allocated;
    private readonly Func<int> _collections;
    private readonly Action _collect;
    private readonly bool _off;
    private long _mark;
    private int _seen;

    public YoungGenerationBudget()
        : this(() => GC.GetTotalAllocatedBytes(precise: false), () => GC.CollectionCount(0),
            () => GC.Collect(0, GCCollectionMode.Forced, blocking: true), ConfiguredByUser)
    {
    }

    /// <summary>For tests: the allocation counter, the gen-0 collection count and the collection are the caller's.</summary>
    internal YoungGenerationBudget(Func<long> allocated, Func<int> collections, Action collect, bool off)
    {
        _allocated = allocated;
        _collections = collections;
        _collect = collect;
        _off = off;
        _mark = allocated();
        _seen = collections();
    }

    /// <summary>Collections this budget asked for (the rest were the GC's own).</summary>
    public int Asked { get; private set; }

    /// <summary>Called every <see cref="EveryFrames"/> frames by the thread that analyzes the capture.</summary>
    public void Check()
    {
        if (_off)
        {
            return;
        }

        long allocated = _allocated();
        int collections = _collections();
        if (collections != _seen)
        {
            // The GC collected on its own since the last check: count from here.
            _seen = collections;
            _mark = allocated;
            return;
        }

        if (allocated - _mark >= Bytes)
        {
            _collect();
            Asked++;
            _seen = _collections();
            _mark = allocated;
        }
    }
}
