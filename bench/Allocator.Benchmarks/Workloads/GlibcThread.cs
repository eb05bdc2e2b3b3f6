namespace Allocator.Benchmarks.Workloads;

/// <summary>glibc-thread: glibc's bench-malloc-thread, random replacement with sizes 4 B-32 KiB whose density
/// falls as 1/size², drawn once into a table of 8,000, one working set per thread.</summary>
public sealed class GlibcThread : RandomReplacement<SizeTable>
{
    private static readonly SizeTable Table = SizeTable.Of(new InverseSquareSizes(4, 32768), 8000, seed: 4141);

    public override string Name => "glibc-thread";

    public override string Scaling =>
        "mimalloc-bench `glibc-thread N` (bench-malloc-thread: working set of 1,024 blocks, sizes 4 B-32 KiB with " +
        "density ~1/size² from a table of 8,000 drawn at start-up). The original runs for a fixed time; here " +
        "2,000,000 x scale replacements per thread.";

    protected override int SlotsPerThread => 1024;

    protected override int Replacements => 2_000_000;

    protected override SizeTable Sizes => Table;
}
