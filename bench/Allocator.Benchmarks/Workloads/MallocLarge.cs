namespace Allocator.Benchmarks.Workloads;

/// <summary>malloc-large: one thread replacing random buffers of 5-25 MiB among 20 live ones, touching each page.</summary>
public sealed class MallocLarge : Workload
{
    private const int MiB = 1 << 20;
    private const int Buffers = 20;
    private const int Replacements = 50;

    public override string Name => "malloc-large";

    public override string Scaling =>
        "mimalloc-bench `malloc-large`: 20 live buffers of 5-25 MiB replaced at random. The original does 500 " +
        "replacements and zeroes each buffer; here 50 x scale replacements, writing one word per 4 KiB page.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int replacements = run.Scaled(Replacements);
        var random = new FastRandom((ulong)run.Seed);
        var sizes = new UniformSizes(5 * MiB, 25 * MiB);
        var slots = new Slot<TBlock>[Buffers];
        WorkingSet<THeap, TBlock>.Replace(slots, replacements, sizes, ref random);
        Blocks<THeap, TBlock>.ReleaseAll(slots);
        return replacements;
    }
}
