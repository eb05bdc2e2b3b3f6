namespace Allocator.Benchmarks.Workloads;

/// <summary>glibc-thread: glibc's bench-malloc-thread, random replacement with sizes 4 B-32 KiB, small ones
/// most likely, one working set per thread.</summary>
public sealed class GlibcThread : RandomReplacement<LogUniformSizes>
{
    public override string Name => "glibc-thread";

    public override string Scaling =>
        "mimalloc-bench `glibc-thread N` (bench-malloc-thread: working set 1,024 blocks, sizes 4 B-32 KiB with density ~1/size). " +
        "The original runs for a fixed time; here 600,000 x scale replacements per thread.";

    protected override int SlotsPerThread => 1024;

    protected override int Replacements => 600_000;

    protected override LogUniformSizes Sizes => new(4, 32768);
}
