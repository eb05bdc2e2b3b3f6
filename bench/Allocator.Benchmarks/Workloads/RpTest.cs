using System.Collections.Concurrent;

namespace Allocator.Benchmarks.Workloads;

/// <summary>rptest, rpmalloc's benchmark: each loop a thread allocates a batch of blocks with linearly falling
/// size probability, replaces some at random, and every second loop hands the batch to the next thread to free.</summary>
public sealed class RpTest : Workload
{
    private const int MinSize = 8;
    private const int MaxSize = 16000;
    private const int BlocksPerLoop = 1000;
    private const int OpsPerLoop = 100;
    private const int CrossRate = 2;
    private const int Loops = 200;
    private static readonly SizeTable Sizes = SizeTable.Of(new LinearFalloffSizes(MinSize, MaxSize), 2000, seed: 4141);

    public override string Name => "rptest";

    public override string Scaling =>
        "mimalloc-bench `rptest N 0 1 2 500 1000 100 8 16000`: linear-falloff sizes 8-16,000 B (a table of 2,000, as the " +
        "original's), 1,000 blocks and 100 " +
        "replacements per loop, every 2nd loop freed by another thread. Loops cut from 500 to 200 x scale (at 60 a run took " +
        "30-100 ms and its cell moved by 5x between runs on a shared 2-core VM).";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int threads = run.Threads;
        int loops = run.Scaled(Loops);
        SizeTable sizes = Sizes; // the original draws from a table of 2,000 precomputed sizes
        var inboxes = new ConcurrentQueue<Slot<TBlock>[]>[threads];
        for (int t = 0; t < threads; t++)
        {
            inboxes[t] = new ConcurrentQueue<Slot<TBlock>[]>();
        }

        ThreadGroup.Run(threads, t =>
        {
            var random = new FastRandom((ulong)(run.Seed + t));
            var spares = new Stack<Slot<TBlock>[]>();
            for (int loop = 0; loop < loops; loop++)
            {
                Slot<TBlock>[] batch = spares.Count > 0 ? spares.Pop() : new Slot<TBlock>[BlocksPerLoop];
                WorkingSet<THeap, TBlock>.Fill(batch, sizes, ref random);
                WorkingSet<THeap, TBlock>.Replace(batch, OpsPerLoop, sizes, ref random);
                if (loop % CrossRate == CrossRate - 1)
                {
                    inboxes[(t + 1) % threads].Enqueue(batch);
                }
                else
                {
                    Blocks<THeap, TBlock>.ReleaseAll(batch);
                    spares.Push(batch);
                }

                while (inboxes[t].TryDequeue(out Slot<TBlock>[]? received))
                {
                    Blocks<THeap, TBlock>.ReleaseAll(received);
                    spares.Push(received);
                }
            }
        });

        foreach (ConcurrentQueue<Slot<TBlock>[]> inbox in inboxes)
        {
            while (inbox.TryDequeue(out Slot<TBlock>[]? batch))
            {
                Blocks<THeap, TBlock>.ReleaseAll(batch);
            }
        }

        return (long)threads * loops * (BlocksPerLoop + OpsPerLoop);
    }
}
