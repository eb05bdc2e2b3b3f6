using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Micro;

/// <summary>64-byte Alloc+Free pair on one thread, 1,000 pairs per invocation. Target: ours &lt;= 0.35 x NativeMemory.</summary>
public class AllocFree64 : BlockHeapBenchmark
{
    protected override void RunBlocks<THeap, TBlock>()
    {
        for (int i = 0; i < 1000; i++)
        {
            TBlock block = THeap.Alloc(64);
            THeap.Bytes(block, 1)[0] = 1;
            THeap.Free(block);
        }
    }
}

/// <summary>Random replacement among live blocks; 1,000 replacements per invocation. The live set is typed by the
/// block kind, which is only known inside the generic body, hence the object field.</summary>
public abstract class Replacement : BlockHeapBenchmark
{
    private object? _set;

    protected abstract int LiveBlocks { get; }

    protected abstract int MinSize { get; }

    protected abstract int MaxSize { get; }

    protected override void RunBlocks<THeap, TBlock>()
    {
        Once(
            () =>
            {
                var set = new LiveSet<TBlock>(LiveBlocks, MinSize, MaxSize, seed: 4141);
                set.Fill<THeap>();
                _set = set;
            },
            () => ((LiveSet<TBlock>)_set!).Clear<THeap>());
        ((LiveSet<TBlock>)_set!).Replace<THeap>(1000);
    }
}

/// <summary>Random sizes 8-1024 B, 10,000 live blocks, random replacement. Target: ours &lt;= 0.35.</summary>
public class RandomSizes : Replacement
{
    protected override int LiveBlocks => 10_000;

    protected override int MinSize => 8;

    protected override int MaxSize => 1024;
}

/// <summary>Blocks of 16-64 KiB, 100 live, random replacement. Target: ours &lt;= 0.5.</summary>
public class MediumBlocks : Replacement
{
    protected override int LiveBlocks => 100;

    protected override int MinSize => 16 * 1024;

    protected override int MaxSize => 64 * 1024;
}

/// <summary>AllocZeroed(4 KiB), write, Free; 1,000 per invocation. Target: ours &lt;= 0.5.</summary>
public unsafe class AllocZeroed4K : HeapBenchmark
{
    protected override void Run<THeap>()
    {
        for (int i = 0; i < 1000; i++)
        {
            byte* block = (byte*)THeap.AllocZeroed(4096);
            block[i & 4095] = 1;
            THeap.Free(block);
        }
    }
}

/// <summary>Blocks of 256 KiB-8 MiB (log-uniform): allocate, write every 4 KiB page, free; 16 per invocation.
/// Target: ours &lt;= 1.0.</summary>
public unsafe class LargeBlocks : HeapBenchmark
{
    private static readonly int[] s_sizes = DrawSizes();

    /// <summary>The 16 block sizes, drawn once (the side-by-side test runs the same row).</summary>
    public static ReadOnlySpan<int> Sizes => s_sizes;

    /// <summary>One block of the row: allocate <paramref name="size"/> bytes, write one byte per 4 KiB page, free.</summary>
    public static void AllocTouchFree<THeap>(int size) where THeap : INativeHeap
    {
        byte* block = (byte*)THeap.Alloc((nuint)size);
        for (int offset = 0; offset < size; offset += Pattern.Stride)
        {
            block[offset] = 1;
        }

        THeap.Free(block);
    }

    protected override void Run<THeap>()
    {
        foreach (int size in s_sizes)
        {
            AllocTouchFree<THeap>(size);
        }
    }

    private static int[] DrawSizes()
    {
        var random = new FastRandom(4141);
        var sizes = new LogUniformSizes(256 * 1024, 8 * 1024 * 1024);
        return Enumerable.Range(0, 16).Select(_ => sizes.Next(ref random)).ToArray();
    }
}

/// <summary>Realloc growth from 16 B to 1 MiB by factors of 1.5, writing the last byte each step; 8 chains per
/// invocation. Target: ours &lt;= 1.0.</summary>
public unsafe class ReallocGrowth : HeapBenchmark
{
    protected override void Run<THeap>()
    {
        for (int chain = 0; chain < 8; chain++)
        {
            nuint size = 16;
            byte* block = (byte*)THeap.Alloc(size);
            block[0] = 1;
            while (size < 1024 * 1024)
            {
                size = Math.Min(size + size / 2, 1024 * 1024);
                block = (byte*)THeap.Realloc(block, size);
                block[size - 1] = 1;
            }

            THeap.Free(block);
        }
    }
}
