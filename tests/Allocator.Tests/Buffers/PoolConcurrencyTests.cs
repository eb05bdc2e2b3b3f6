using System.Buffers;
using System.Collections.Concurrent;
using Allocator.Buffers;
using Xunit;

namespace Allocator.Tests.Buffers;

/// <summary>
/// Owners rented on one thread and disposed on another, and two threads racing one owner's Dispose: every block
/// goes back exactly once (a second free would throw "double free" from the allocator and corrupt the counts).
/// </summary>
public class PoolConcurrencyTests : PoolTestBase
{
    [Fact]
    public async Task OwnersRentedOnOneThreadAndDisposedOnAnotherAllGoBack()
    {
        using var pool = new NativeMemoryPool<byte>();
        const int Count = 20_000;
        int[] sizes = [100, 4096, 20_000, 65_536, 300_000];
        using var queue = new BlockingCollection<(IMemoryOwner<byte> Owner, byte Seed)>(boundedCapacity: 64);
        var errors = new ConcurrentQueue<string>();
        var producer = Task.Run(() =>
        {
            for (int i = 0; i < Count; i++)
            {
                IMemoryOwner<byte> owner = pool.Rent(sizes[i % sizes.Length]);
                owner.Memory.Span.Fill((byte)i);
                queue.Add((owner, (byte)i));
            }

            queue.CompleteAdding();
        });
        var consumer = Task.Run(() =>
        {
            foreach ((IMemoryOwner<byte> owner, byte seed) in queue.GetConsumingEnumerable())
            {
                if (owner.Memory.Span.IndexOfAnyExcept(seed) >= 0)
                {
                    errors.Enqueue($"an owner of {owner.Memory.Length} bytes lost its contents on the way");
                }

                owner.Dispose();
            }
        });
        await Task.WhenAll(producer, consumer);
        Assert.Empty(errors);
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(Count, s.Rents);
        Assert.Equal(Count, s.Returns);
        Assert.Equal(0, s.Outstanding);
        Assert.Equal(0, s.OutstandingBytes);
        Assert.Equal(0, s.Leaked);
    }

    [Fact]
    public async Task TwoThreadsRacingDisposeReturnTheBlockOnce()
    {
        using var pool = new NativeMemoryPool<byte>();
        const int Rounds = 20_000;
        using var start = new Barrier(2);
        var owners = new IMemoryOwner<byte>[Rounds];
        for (int i = 0; i < Rounds; i++)
        {
            owners[i] = pool.Rent(i % 2 == 0 ? 512 : 70_000);
        }

        void Race()
        {
            start.SignalAndWait();
            for (int i = 0; i < Rounds; i++)
            {
                owners[i].Dispose();
            }
        }

        // Dedicated threads: both must be running at once for the barrier.
        var a = Task.Factory.StartNew(Race, TaskCreationOptions.LongRunning);
        var b = Task.Factory.StartNew(Race, TaskCreationOptions.LongRunning);
        await Task.WhenAll(a, b); // a double free would throw InvalidOperationException here
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(Rounds, s.Returns);
        Assert.Equal(0, s.Outstanding);
        Assert.Equal(0, s.OutstandingBytes);
        Assert.All(owners, o => Assert.Throws<ObjectDisposedException>(() => o.Memory));
    }

    [Fact]
    public void ManyThreadsRentAndDisposeAtOnceAndTheCountsAddUp()
    {
        using var pool = new NativeMemoryPool<byte>();
        const int PerThread = 20_000;
        int threads = Math.Max(4, Environment.ProcessorCount);
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var held = new Queue<IMemoryOwner<byte>>();
            for (int i = 0; i < PerThread; i++)
            {
                held.Enqueue(pool.Rent((i * 7919 % 70_000) + t));
                if (held.Count > 8)
                {
                    held.Dequeue().Dispose();
                }
            }

            while (held.Count > 0)
            {
                held.Dequeue().Dispose();
            }
        });
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(threads * PerThread, s.Rents);
        Assert.Equal(threads * PerThread, s.Returns);
        Assert.Equal(0, s.OutstandingBytes);
        Assert.True(s.PeakOutstandingBytes > 0);
    }

    [Fact]
    public void CountsSurviveExitedThreadsAndPoolsUsedInTurn()
    {
        using var a = new NativeMemoryPool<byte>();
        using var b = new NativeMemoryPool<byte>();
        void RunOnNewThread(Action action)
        {
            var thread = new Thread(() => action());
            thread.Start();
            thread.Join();
        }

        // One thread alternates between the pools; it exits before the next thread registers (and folds its totals).
        RunOnNewThread(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                a.Rent(100).Dispose();
                b.Rent(200).Dispose();
            }
        });
        RunOnNewThread(() => a.Rent(100).Dispose());
        NativeMemoryPoolStatistics sa = a.GetStatistics();
        NativeMemoryPoolStatistics sb = b.GetStatistics();
        Assert.Equal(101, sa.Rents);
        Assert.Equal(101, sa.Returns);
        Assert.Equal(101 * 112, sa.RentedBytes); // 100 bytes come from the 112-byte class
        Assert.Equal(100, sb.Rents);
        Assert.Equal(100, sb.Returns);
        Assert.Equal(0, sa.Outstanding + sb.Outstanding);
    }
}
