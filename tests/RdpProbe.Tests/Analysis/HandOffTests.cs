using System.Diagnostics;
using RdpProbe.Analysis;

namespace RdpProbe.Tests.Analysis;

/// <summary>The hand-over between the analysis threads: order kept, bounded, completion and cancellation end every wait.</summary>
public sealed class HandOffTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    public void Every_item_arrives_once_in_order_and_the_producer_waits_when_the_queue_is_full(int wakeBatch)
    {
        var queue = new HandOff<int>(capacity: 8, wakeBatch);
        int most = 0;
        var taken = new List<int>();
        var consumer = new Thread(() =>
        {
            while (queue.TryTake(out int item))
            {
                taken.Add(item);
                if (item % 1000 == 0)
                {
                    Thread.Sleep(1);
                }
            }
        });
        consumer.Start();
        for (int i = 0; i < 20_000; i++)
        {
            queue.Add(i);
            most = Math.Max(most, queue.CountForTests);
        }

        queue.Complete();
        Assert.True(consumer.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 20_000), taken);
        Assert.InRange(most, 1, 8);
    }

    [Fact]
    public void A_straggler_below_the_wake_batch_is_taken_within_the_straggler_wait()
    {
        var queue = new HandOff<string>(capacity: 1024, wakeBatch: 32);
        long took = -1;
        var watch = Stopwatch.StartNew();
        var consumer = new Thread(() =>
        {
            queue.TryTake(out _);
            took = watch.ElapsedMilliseconds;
        });
        consumer.Start();
        Thread.Sleep(20);
        long added = watch.ElapsedMilliseconds;
        queue.Add("the only flow");
        Assert.True(consumer.Join(TimeSpan.FromSeconds(10)));
        Assert.InRange(took - added, 0, HandOff<string>.StragglerWaitMs + 500);
        queue.Complete();
    }

    [Fact]
    public void Completion_wakes_a_waiting_consumer_and_refuses_later_items()
    {
        var queue = new HandOff<int>(capacity: 4);
        bool? result = null;
        var consumer = new Thread(() => result = queue.TryTake(out _));
        consumer.Start();
        Thread.Sleep(20);
        queue.Complete();
        Assert.True(consumer.Join(TimeSpan.FromSeconds(10)));
        Assert.False(result);
        Assert.Throws<InvalidOperationException>(() => queue.Add(1));
    }

    [Fact]
    public void Cancellation_ends_a_wait_on_either_side()
    {
        var full = new HandOff<int>(capacity: 1);
        full.Add(1);
        using var stopProducer = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => full.Add(2, stopProducer.Token));

        var empty = new HandOff<int>(capacity: 1);
        using var stopConsumer = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => empty.TryTake(out _, stopConsumer.Token));
    }
}
