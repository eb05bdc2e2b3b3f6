using System.Runtime.InteropServices;
using Allocator.Heap;
using Allocator.Platform;
using BenchmarkDotNet.Attributes;

namespace Allocator.Benchmarks.Design;

/// <summary>
/// Justifies the large-block threshold (256 KiB): for blocks around it, the same workload served by the arena
/// (a size-class page) and by the large path (a mapping per block, with its reuse cache), against NativeMemory.
/// Workload: 16 live blocks, each step frees one at random and allocates a new one of the same size, then touches
/// every 4 KiB page of it (so fresh pages cost their page faults).
/// </summary>
[MemoryDiagnoser(false)]
public unsafe class LargeThresholdBenchmarks
{
    private const int Live = 16;
    private const int Steps = 256;
    private readonly nint[] _blocks = new nint[Live];
    private int[] _order = [];

    /// <summary>Block size in KiB.</summary>
    [Params(64, 128, 256)]
    public int SizeKiB { get; set; }

    private nuint Size => (nuint)SizeKiB * 1024;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _order = Enumerable.Range(0, Steps).Select(_ => random.Next(Live)).ToArray();
    }

    private static void Touch(byte* p, nuint size)
    {
        for (nuint i = 0; i < size; i += 4096)
        {
            p[i] = 1;
        }
    }

    private void Run(delegate*<nuint, void*> alloc, delegate*<void*, void> free)
    {
        nuint size = Size;
        for (int i = 0; i < Live; i++)
        {
            _blocks[i] = (nint)alloc(size);
        }

        foreach (int k in _order)
        {
            free((void*)_blocks[k]);
            byte* p = (byte*)alloc(size);
            Touch(p, size);
            _blocks[k] = (nint)p;
        }

        for (int i = 0; i < Live; i++)
        {
            free((void*)_blocks[i]);
        }
    }

    private static void* NativeMemoryAlloc(nuint size) => NativeMemory.Alloc(size);

    private static void NativeMemoryFree(void* p) => NativeMemory.Free(p);

    private static void* ArenaAlloc(nuint size) => Arena.AllocClass(SizeClasses.Index(size), false);

    private static void* MappingAlloc(nuint size) => LargeBlocks.Alloc(size, OsMemory.PageSize, false);

    private static void OurFree(void* p) => NativeAllocator.Free(p);

    [Benchmark(Baseline = true, Description = "NativeMemory")]
    public void Glibc() => Run(&NativeMemoryAlloc, &NativeMemoryFree);

    [Benchmark(Description = "arena page")]
    public void ArenaPath() => Run(&ArenaAlloc, &OurFree);

    [Benchmark(Description = "own mapping")]
    public void MappingPath() => Run(&MappingAlloc, &OurFree);
}
