namespace Allocator.Benchmarks.Workloads;

/// <summary>larson: a server simulation. Each thread replaces random blocks of its array, then hands the array
/// to a freshly created thread, so blocks are freed by a thread other than the one that allocated them.</summary>
public sealed class Larson : Workload
{
    private const int MinSize = 8;
    private const int MaxSize = 1000;
    private const int BlocksPerThread = 5000;
    private const int ReplacementsPerGeneration = 50_000;
    private const int Generations = 20;
    private static readonly UniformSizes Sizes = new(MinSize, MaxSize);

    public override string Name => "larson";

    public override string Scaling =>
        "mimalloc-bench `larson 5 8 1000 5000 100 4141 N`: sizes 8-1000 B, 5,000 blocks per thread, seed 4141. " +
        "The original runs for 5 s; here each thread does 50,000 replacements per generation for 20 x scale " +
        "generations, and each generation's threads take over the previous generation's arrays rotated by one " +
        "(below scale 0.05, fewer replacements per generation in proportion).";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int threads = run.Threads;
        var arrays = new Slot<TBlock>[threads][];
        var random = new FastRandom((ulong)run.Seed);
        for (int t = 0; t < threads; t++)
        {
            arrays[t] = new Slot<TBlock>[BlocksPerThread];
            WorkingSet<THeap, TBlock>.Fill(arrays[t], Sizes, ref random);
        }

        int generations = run.Scaled(Generations);
        int replacements = run.Tapered(ReplacementsPerGeneration, floor: 500);
        for (int g = 0; g < generations; g++)
        {
            int generation = g;
            ThreadGroup.Run(threads, t =>
            {
                Slot<TBlock>[] slots = arrays[(t + generation) % threads];
                var rng = new FastRandom((ulong)(run.Seed + generation * threads + t + 1));
                WorkingSet<THeap, TBlock>.Replace(slots, replacements, Sizes, ref rng);
            });
        }

        foreach (Slot<TBlock>[] slots in arrays)
        {
            Blocks<THeap, TBlock>.ReleaseAll(slots);
        }

        return (long)threads * BlocksPerThread + (long)generations * threads * replacements;
    }
}
