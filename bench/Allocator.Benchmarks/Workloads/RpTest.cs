using System.Collections.Concurrent;

namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// rptest, rpmalloc's benchmark, in the shape of its worker loop: each thread keeps a table of 1,000 slots; every
/// loop it frees a varying number of slots (walking the table with one prime step), frees the blocks other threads
/// sent it, allocates a varying number of blocks into slots (walking with another prime step, freeing what a slot
/// held), and every second loop allocates a small batch that it sends to the next thread to free. Sending stops once
/// any thread has finished its loops, as in the original, so batches cannot pile up behind a slow thread.
/// </summary>
public sealed class RpTest : Workload
{
    private const int MinSize = 8;
    private const int MaxSize = 16000;
    private const int SlotsPerThread = 1000;
    private const int OpCount = 100;
    private const int CrossRate = 2;
    private const int Loops = 6000;
    private const int AllocStep = 7;
    private const int FreeStep = 11;
    private static readonly SizeTable Sizes = SizeTable.Of(new LinearFalloffSizes(MinSize, MaxSize), 2000, seed: 4141);

    // Per loop, a percentage of OpCount: the original cycles through fixed tables of values in 30-99 (311 entries
    // for allocations, 257 for frees, frees scaled by 0.8). Drawn here once with our own generator, same range and
    // lengths.
    private static readonly int[] s_allocOps = OpTable(311, 1.0, seed: 17);
    private static readonly int[] s_freeOps = OpTable(257, 0.8, seed: 29);

    public override string Name => "rptest";

    public override string Scaling =>
        "mimalloc-bench `rptest N 0 1 2 500 1000 100 8 16000` (rpmalloc's benchmark: random linear-falloff sizes 8-16,000 B " +
        "from a table of 2,000, 1,000 slots per thread, 100 operations per loop, a batch of a quarter of a loop's " +
        "allocations sent to the next thread every 2nd loop). The original runs 2 x 500 loops; here 6,000 x scale " +
        "loops, and the batches travel in managed arrays instead of allocated ones.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int threads = run.Threads;
        int loops = run.Scaled(Loops);
        SizeTable sizes = Sizes;
        var inboxes = new ConcurrentQueue<Slot<TBlock>[]>[threads];
        for (int t = 0; t < threads; t++)
        {
            inboxes[t] = new ConcurrentQueue<Slot<TBlock>[]>();
        }

        int finished = 0;
        long operations = 0;
        using var drained = new Barrier(threads);
        ThreadGroup.Run(threads, t =>
        {
            var random = new FastRandom((ulong)(run.Seed + t));
            var slots = new Slot<TBlock>[SlotsPerThread];
            ConcurrentQueue<Slot<TBlock>[]> inbox = inboxes[t];
            ConcurrentQueue<Slot<TBlock>[]> next = inboxes[(t + 1) % threads];
            int allocAt = 0;
            int freeAt = 0;
            long done = 0;
            for (int loop = 0; loop < loops; loop++)
            {
                int frees = s_freeOps[loop % s_freeOps.Length];
                for (int i = 0; i < frees; i++)
                {
                    Blocks<THeap, TBlock>.Release(ref slots[freeAt]);
                    freeAt = (freeAt + FreeStep) % SlotsPerThread;
                }

                Drain(inbox);

                int allocs = s_allocOps[loop % s_allocOps.Length];
                for (int i = 0; i < allocs; i++)
                {
                    ref Slot<TBlock> slot = ref slots[allocAt];
                    Blocks<THeap, TBlock>.Release(ref slot);
                    Blocks<THeap, TBlock>.Fill(ref slot, sizes.Next(ref random), random.NextTag());
                    allocAt = (allocAt + AllocStep) % SlotsPerThread;
                }

                done += allocs;
                if (threads > 1 && loop % CrossRate == 0 && Volatile.Read(ref finished) == 0)
                {
                    var batch = new Slot<TBlock>[allocs / 4];
                    WorkingSet<THeap, TBlock>.Fill(batch, sizes, ref random);
                    next.Enqueue(batch);
                    done += batch.Length;
                }
            }

            // Once a thread is done no more batches are sent; every thread frees what reached it, then its slots.
            Interlocked.Increment(ref finished);
            drained.SignalAndWait();
            Drain(inbox);
            Blocks<THeap, TBlock>.ReleaseAll(slots);
            Interlocked.Add(ref operations, done);
        });

        return operations;

        static void Drain(ConcurrentQueue<Slot<TBlock>[]> inbox)
        {
            while (inbox.TryDequeue(out Slot<TBlock>[]? received))
            {
                Blocks<THeap, TBlock>.ReleaseAll(received);
            }
        }
    }

    private static int[] OpTable(int length, double factor, ulong seed)
    {
        var random = new FastRandom(seed);
        var table = new int[length];
        for (int i = 0; i < length; i++)
        {
            table[i] = (int)(factor * OpCount * random.Between(30, 99) / 100.0);
        }

        return table;
    }
}
