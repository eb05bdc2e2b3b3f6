namespace Allocator.Benchmarks.Workloads;

/// <summary>alloc-test: random replacement over a working set with Pareto-distributed sizes up to 1 KiB.</summary>
public sealed class AllocTest : RandomReplacement<ParetoSizes>
{
    public override string Name => "alloc-test";

    public override string Scaling =>
        "mimalloc-bench `alloc-test N`: Pareto (80/20) sizes 8 B-1 KiB, random replacement in a per-thread working " +
        "set. Here 8,192 live blocks per thread and 1,000,000 x scale replacements per thread.";

    protected override int SlotsPerThread => 8192;

    protected override int Replacements => 1_000_000;

    protected override ParetoSizes Sizes => new(8, 1024);
}
