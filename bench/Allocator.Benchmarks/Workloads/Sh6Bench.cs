namespace Allocator.Benchmarks.Workloads;

/// <summary>sh6bench (MicroQuill SmartHeap): rounds of allocating a batch of blocks and freeing it in LIFO order,
/// in reverse (FIFO) order, and alternately, on every thread at once.</summary>
public sealed class Sh6Bench : Workload
{
    private const int MinSize = 1;
    private const int MaxSize = 1000;
    private const int BlocksPerRound = 2500;
    private const int Rounds = 200;

    public override string Name => "sh6bench";

    public override string Scaling =>
        "mimalloc-bench `sh6bench 2N`: sizes 1-1000 B, batches freed last-in-first-out, first-in-first-out and every " +
        "other one. Here N threads, 2,500 blocks per batch, 200 x scale rounds of the three orders per thread.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int rounds = run.Scaled(Rounds);
        var sizes = new UniformSizes(MinSize, MaxSize);
        ThreadGroup.Run(run.Threads, t =>
        {
            var random = new FastRandom((ulong)(run.Seed + t));
            var batch = new Slot<TBlock>[BlocksPerRound];
            for (int round = 0; round < rounds; round++)
            {
                WorkingSet<THeap, TBlock>.Fill(batch, sizes, ref random);
                for (int i = batch.Length - 1; i >= 0; i--)
                {
                    Blocks<THeap, TBlock>.Release(ref batch[i]); // LIFO
                }

                WorkingSet<THeap, TBlock>.Fill(batch, sizes, ref random);
                Blocks<THeap, TBlock>.ReleaseAll(batch); // FIFO

                WorkingSet<THeap, TBlock>.Fill(batch, sizes, ref random);
                for (int i = 0; i < batch.Length; i += 2)
                {
                    Blocks<THeap, TBlock>.Release(ref batch[i]); // every other one, then the rest
                }

                Blocks<THeap, TBlock>.ReleaseAll(batch);
            }
        });
        return (long)run.Threads * rounds * 3 * BlocksPerRound;
    }
}
