using RdpProbe.Analysis;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// The analysis asks for a gen-0 collection once <see cref="YoungGenerationBudget.Bytes"/> were allocated since the last
/// one — natural or asked for — and never when the user set the budget with DOTNET_GCgen0size.
/// </summary>
public sealed class YoungGenerationBudgetTests
{
    private long _allocated = 1_000;
    private int _collections = 3;
    private int _asked;

    private YoungGenerationBudget Budget(bool off = false) =>
        new(() => _allocated, () => _collections, () => { _asked++; _collections++; }, off);

    [Fact]
    public void Collects_once_the_budget_is_allocated_and_counts_again_from_there()
    {
        var budget = Budget();
        _allocated += YoungGenerationBudget.Bytes - 1;
        budget.Check();
        Assert.Equal(0, _asked);

        _allocated += 1;
        budget.Check();
        Assert.Equal(1, _asked);
        Assert.Equal(1, budget.Asked);

        // The next collection only after another full budget.
        _allocated += YoungGenerationBudget.Bytes / 2;
        budget.Check();
        Assert.Equal(1, _asked);
        _allocated += YoungGenerationBudget.Bytes / 2;
        budget.Check();
        Assert.Equal(2, _asked);
    }

    [Fact]
    public void A_collection_the_GC_made_on_its_own_restarts_the_count()
    {
        var budget = Budget();
        _allocated += YoungGenerationBudget.Bytes - 100;
        budget.Check();

        // The GC collected by itself between two checks: no second collection right after it.
        _collections++;
        _allocated += 200;
        budget.Check();
        Assert.Equal(0, _asked);

        _allocated += YoungGenerationBudget.Bytes - 1;
        budget.Check();
        Assert.Equal(0, _asked);
        _allocated += 1;
        budget.Check();
        Assert.Equal(1, _asked);
    }

    [Fact]
    public void A_budget_set_by_the_user_is_left_to_the_GC()
    {
        var budget = Budget(off: true);
        _allocated += 10 * YoungGenerationBudget.Bytes;
        budget.Check();
        Assert.Equal(0, _asked);
    }

    [Fact]
    public void With_the_real_GC_every_check_keeps_the_count_of_collections_it_asked_for_within_the_allocation()
    {
        // The real counters: after allocating 3 budgets' worth, the budget asked for at most 3 collections (the GC's own
        // collections restart its count), and the process went on.
        var budget = new YoungGenerationBudget();
        object? keep = null;
        for (int round = 0; round < 3 * 16; round++)
        {
            for (int i = 0; i < 16 * 1024; i++)
            {
                keep = new byte[40];
            }

            budget.Check();
        }

        GC.KeepAlive(keep);
        Assert.InRange(budget.Asked, 0, 3);
    }
}
