using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Micro;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Allocator.Benchmarks.Design;

/// <summary>
/// What turning the stack map off (<c>ALLOCATOR_STACK_MAP=0</c>, for code that moves one stack between threads)
/// costs: the 64-byte pair and random replacement of 10,000 live blocks of 8-1024 B, with the map (the default,
/// the baseline job) and without it, when the fast paths find the heap through a thread-static. Options are read
/// once per process, so the two are two jobs that differ only in that variable. Run it without <c>--job</c>, which
/// would add a third job of its own: <c>-- --filter '*StackMapOption*'</c>.
/// </summary>
[Config(typeof(StackMapOptionConfig))]
public unsafe class StackMapOptionBenchmarks
{
    private const int Replacements = 100_000;
    private LiveSet<nint>? _set;

    [GlobalSetup]
    public void Setup()
    {
        _set = new LiveSet<nint>(10_000, 8, 1024, seed: 4141);
        _set.Fill<NativeBlocks<OursHeap>>();
    }

    [GlobalCleanup]
    public void Cleanup() => _set!.Clear<NativeBlocks<OursHeap>>();

    /// <summary>1,000 × (Alloc 64 B, Free).</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    public void AllocFree64()
    {
        for (int i = 0; i < 1000; i++)
        {
            NativeAllocator.Free(NativeAllocator.Alloc(64));
        }
    }

    /// <summary>100,000 random replacements.</summary>
    [Benchmark(OperationsPerInvoke = Replacements)]
    public void RandomReplacement() => _set!.Replace<NativeBlocks<OursHeap>>(Replacements);
}

/// <summary>The two jobs: the stack map on (baseline) and off.</summary>
public sealed class StackMapOptionConfig : ManualConfig
{
    public StackMapOptionConfig()
    {
        Job common = Job.Default.WithLaunchCount(3).WithWarmupCount(3).WithIterationCount(10);
        AddJob(common.WithId("stack-map").AsBaseline());
        AddJob(common.WithEnvironmentVariable("ALLOCATOR_STACK_MAP", "0").WithId("thread-static"));
    }
}
