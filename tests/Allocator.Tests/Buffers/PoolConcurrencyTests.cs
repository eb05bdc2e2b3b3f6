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
    public async Task ALateRacingDisposeNeverReturnsTheBlockOfALaterRent()
    {
        // Each thread disposes the shared owner, then at once rents the same size again (the block just returned,
        // from its own cache slot) and checks that nobody else writes to it: the losing Dispose of the race may
        // still hold the old block, and must not return it now that it belongs to a new rent.
        using var pool = new NativeMemoryPool<byte>();
        const int Rounds = 20_000;
        using var start = new Barrier(2);
        var owners = new IMemoryOwner<byte>[Rounds];
        for (int i = 0; i < Rounds; i++)
        {
            owners[i] = pool.Rent(256);
        }

        var errors = new ConcurrentQueue<string>();
        void Race(byte mark)
        {
            start.SignalAndWait();
            for (int i = 0; i < Rounds; i++)
            {
                owners[i].Dispose();
                using IMemoryOwner<byte> mine = pool.Rent(256);
                mine.Memory.Span.Fill(mark);
                Thread.SpinWait(20);
                if (mine.Memory.Span.IndexOfAnyExcept(mark) >= 0)
                {
                    errors.Enqueue($"round {i}: a block rented by thread {mark} was handed to another rent");
                }
            }
        }

        var a = Task.Factory.StartNew(() => Race(1), TaskCreationOptions.LongRunning);
        var b = Task.Factory.StartNew(() => Race(2), TaskCreationOptions.LongRunning);
        await Task.WhenAll(a, b); // a block returned twice would also end in a double free here
        Assert.Empty(errors);
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(3 * Rounds, s.Rents);
        Assert.Equal(3 * Rounds, s.Returns);
        Assert.Equal(0, s.OutstandingBytes);
    }

    [Fact]
    public unsafe void ADisposeThatLostTheRaceReturnsNothingEvenAfterTheBlockWasRentedAgain()
    {
        using var pool = new NativeMemoryPool<byte>();
        NativeMemoryOwner<byte> first = pool.RentOwner(256);
        NativeMemoryOwner<byte> loser = first.LosingRacer();
        byte* block = first.Pointer;
        first.Dispose();

        // The same thread rents the same size: the block just returned comes back from this thread's cache slot.
        NativeMemoryOwner<byte> second = pool.RentOwner(256);
        Assert.True(second.Pointer == block, "the test needs the block to be rented again");
        loser.Dispose();
        Assert.Equal(1, pool.GetStatistics().Returns);
        NativeMemoryOwner<byte> third = pool.RentOwner(256);
        Assert.True(third.Pointer != block, "a block still rented was handed out again");
        second.Span.Fill(2);
        third.Span.Fill(3);
        Assert.True(second.Span.IndexOfAnyExcept((byte)2) < 0);
        second.Dispose();
        third.Dispose();

        // A loser of a race on the current rent does nothing either.
        NativeMemoryOwner<byte> fourth = pool.RentOwner(256);
        NativeMemoryOwner<byte> fourthLoser = fourth.LosingRacer();
        fourth.Dispose();
        fourthLoser.Dispose();
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(4, s.Rents);
        Assert.Equal(4, s.Returns);
        Assert.Equal(0, s.OutstandingBytes);
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
        // One thread alternates between the pools; it exits before the next thread registers (and folds its totals).
        OwnThread.Run(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                a.Rent(100).Dispose();
                b.Rent(200).Dispose();
            }
        });
        OwnThread.Run(() => a.Rent(100).Dispose());
        NativeMemoryPoolStatistics sa = a.GetStatistics();
        NativeMemoryPoolStatistics sb = b.GetStatistics();
        Assert.Equal(101, sa.Rents);
        Assert.Equal(101, sa.Returns);
        Assert.Equal(101 * 112, sa.RentedBytes); // 100 bytes come from the 112-byte class
        Assert.Equal(100, sb.Rents);
        Assert.Equal(100, sb.Returns);
        Assert.Equal(0, sa.Outstanding + sb.Outstanding);
    }

    [Fact]
    public async Task DrainingWhileThreadsRentNeverHandsOutOneBlockTwice()
    {
        // The trimmer empties the threads' plain cache slots through the asymmetric handshake while they use them:
        // a block freed by both sides would throw "double free", one handed to two owners would mix their contents.
        using var pool = new NativeMemoryPool<byte>();
        const int PerThread = 100_000;
        int threads = 2;
        using var done = new CancellationTokenSource();
        var errors = new ConcurrentQueue<string>();
        var drainer = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                BlockCache.Drain();
            }
        });
        var renters = Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            var held = new Queue<(IMemoryOwner<byte> Owner, byte Seed)>();
            for (int i = 0; i < PerThread; i++)
            {
                IMemoryOwner<byte> owner = pool.Rent(i % 3 == 0 ? 1024 : 100);
                byte seed = (byte)((i * 31) + t);
                owner.Memory.Span.Fill(seed);
                held.Enqueue((owner, seed));
                if (held.Count > 1)
                {
                    (IMemoryOwner<byte> old, byte oldSeed) = held.Dequeue();
                    if (old.Memory.Span.IndexOfAnyExcept(oldSeed) >= 0)
                    {
                        errors.Enqueue("an owner's block was handed to another owner");
                    }

                    old.Dispose();
                }
            }

            while (held.Count > 0)
            {
                held.Dequeue().Owner.Dispose();
            }
        })).ToArray();
        await Task.WhenAll(renters);
        await done.CancelAsync();
        await drainer;
        Assert.Empty(errors);
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(threads * PerThread, s.Rents);
        Assert.Equal(threads * PerThread, s.Returns);
        Assert.Equal(0, s.OutstandingBytes);
    }

    [Fact]
    public void AnOwnerRentedOnAnExitedThreadIsCountedWhenDisposedLater()
    {
        using var pool = new NativeMemoryPool<byte>();
        IMemoryOwner<byte>? owner = null;
        var thread = new Thread(() => owner = pool.Rent(4096));
        thread.Start();
        thread.Join();
        pool.Rent(100).Dispose(); // registers this thread while the exited one still holds a block: not folded yet
        Assert.Equal(1, pool.GetStatistics().Outstanding);
        Assert.Equal(4096, pool.GetStatistics().OutstandingBytes);
        owner!.Dispose();
        var last = new Thread(() => pool.Rent(100).Dispose()); // folds the exited thread's counters, now settled
        last.Start();
        last.Join();
        NativeMemoryPoolStatistics s = pool.GetStatistics();
        Assert.Equal(3, s.Rents);
        Assert.Equal(3, s.Returns);
        Assert.Equal(4096 + 112 + 112, s.RentedBytes);
        Assert.Equal(0, s.OutstandingBytes);
        Assert.Equal(4096 + 112, s.PeakOutstandingBytes);
    }
}
