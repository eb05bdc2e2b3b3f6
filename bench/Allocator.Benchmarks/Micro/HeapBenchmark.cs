using Allocator.Benchmarks.Competitors;
using BenchmarkDotNet.Attributes;

namespace Allocator.Benchmarks.Micro;

/// <summary>
/// Base of the micro suites: one benchmark method per allocator, NativeMemory (glibc) the baseline, each calling
/// the suite's <see cref="Run{THeap}"/> specialized for that allocator. A method's name is the competitor's key,
/// so <see cref="MicroConfig"/> can leave out the ones whose library is missing. State a suite needs (live
/// blocks, threads) is built on the first call and released by <see cref="Cleanup"/>; BenchmarkDotNet runs each
/// method in its own process, so one process only ever holds one allocator's state.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
[Config(typeof(NativeTunablesConfig))]
public abstract class HeapBenchmark
{
    private Action? _cleanup;

    [Benchmark(Baseline = true)]
    public void NativeMemory() => Run<NativeMemoryHeap>();

    [Benchmark]
    public void Ours() => Run<OursHeap>();

    [Benchmark]
    public void Mimalloc() => Run<LibraryHeap<Competitors.Mimalloc>>();

    [Benchmark]
    public void Jemalloc() => Run<LibraryHeap<Competitors.Jemalloc>>();

    [Benchmark]
    public void Tcmalloc() => Run<LibraryHeap<Competitors.Tcmalloc>>();

    [GlobalCleanup]
    public void Cleanup()
    {
        _cleanup?.Invoke();
        _cleanup = null;
    }

    /// <summary>One invocation: the suite's operations on <typeparamref name="THeap"/>.</summary>
    protected abstract void Run<THeap>() where THeap : INativeHeap;

    /// <summary>Runs <paramref name="setup"/> once per process; <paramref name="cleanup"/> runs at the end.</summary>
    protected void Once(Action setup, Action cleanup)
    {
        if (_cleanup is null)
        {
            setup();
            _cleanup = cleanup;
        }
    }
}

/// <summary>
/// A suite whose operations also fit managed arrays: adds the GC (<c>new byte[]</c>) and
/// <c>ArrayPool&lt;byte&gt;.Shared</c> to the native competitors, all running one generic body.
/// </summary>
public abstract class BlockHeapBenchmark : HeapBenchmark
{
    [Benchmark]
    public void Gc() => RunBlocks<GcHeap, byte[]>();

    [Benchmark]
    public void ArrayPool() => RunBlocks<ArrayPoolHeap, byte[]>();

    protected sealed override void Run<THeap>() => RunBlocks<NativeBlocks<THeap>, nint>();

    /// <summary>One invocation: the suite's operations on <typeparamref name="THeap"/>.</summary>
    protected abstract void RunBlocks<THeap, TBlock>() where THeap : IBlockHeap<TBlock>;
}
