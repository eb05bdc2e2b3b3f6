namespace Allocator.Benchmarks.Workloads;

/// <summary>glibc-simple: glibc's bench-malloc-simple, one thread allocating a batch of same-size blocks and
/// freeing them all, for several sizes and batch lengths.</summary>
public sealed class GlibcSimple : Workload
{
    private static readonly int[] s_sizes = [16, 32, 64, 128, 256, 512, 1024];
    private static readonly int[] s_counts = [25, 100, 400, 1600];
    private const int BlocksPerCase = 120_000;

    public override string Name => "glibc-simple";

    public override string Scaling =>
        "mimalloc-bench `glibc-simple` (bench-malloc-simple: single thread, batches of one size allocated then freed). " +
        "Sizes 16-1024 B, batches of 25/100/400/1,600 blocks, 120,000 x scale blocks per (size, batch) case.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int perCase = run.Scaled(BlocksPerCase);
        var random = new FastRandom((ulong)run.Seed);
        var batch = new Slot<TBlock>[s_counts[^1]];
        long total = 0;
        foreach (int size in s_sizes)
        {
            var sizes = new UniformSizes(size, size);
            foreach (int count in s_counts)
            {
                Span<Slot<TBlock>> slots = batch.AsSpan(0, count);
                for (int done = 0; done < perCase; done += count)
                {
                    WorkingSet<THeap, TBlock>.Fill(slots, sizes, ref random);
                    Blocks<THeap, TBlock>.ReleaseAll(slots);
                    total += count;
                }
            }
        }

        return total;
    }
}
