using System.Buffers;
using Allocator.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CommunityToolkit.HighPerformance.Buffers;
using UnmanagedMemoryPool = DotNext.Buffers.UnmanagedMemoryPool<byte>;

namespace Allocator.Benchmarks.Pool;

/// <summary>
/// Rent a buffer and dispose it, with and without writing every byte in between: <see cref="NativeMemoryPool.Shared"/>
/// against <c>MemoryPool&lt;byte&gt;.Shared</c> (the baseline), <c>ArrayPool&lt;byte&gt;.Shared</c>, dotNext's
/// <c>UnmanagedMemoryPool&lt;byte&gt;</c> and CommunityToolkit's <c>MemoryOwner&lt;byte&gt;</c>.
/// </summary>
/// <remarks>
/// Every case rents <see cref="Size"/> bytes and, in the write category, fills exactly <see cref="Size"/> bytes of
/// the span it got (every pool gives at least that many), so they do the same work. Allocated is the GC heap bytes
/// per operation: one owner object for the owner-based pools, none for <c>ArrayPool</c>.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class PoolBenchmarks
{
    private const string RentDispose = "Rent+Dispose";
    private const string RentWrite = "Rent+write+Dispose";

    private readonly UnmanagedMemoryPool _dotNext = new(1 << 30);
    private byte _value;

    /// <summary>The size of each rent in bytes: 4 KiB, 64 KiB, 1 MiB.</summary>
    [Params(4096, 65536, 1048576)]
    public int Size { get; set; }

    [GlobalCleanup]
    public void Cleanup() => _dotNext.Dispose();

    [Benchmark(Baseline = true, Description = "MemoryPool<byte>.Shared")]
    [BenchmarkCategory(RentDispose)]
    public int MemoryPoolShared()
    {
        using IMemoryOwner<byte> owner = MemoryPool<byte>.Shared.Rent(Size);
        return owner.Memory.Length;
    }

    [Benchmark(Description = "NativeMemoryPool.Shared")]
    [BenchmarkCategory(RentDispose)]
    public int NativePool()
    {
        using IMemoryOwner<byte> owner = NativeMemoryPool.Shared.Rent(Size);
        return owner.Memory.Length;
    }

    [Benchmark(Description = "ArrayPool<byte>.Shared")]
    [BenchmarkCategory(RentDispose)]
    public int ArrayPoolShared()
    {
        byte[] array = ArrayPool<byte>.Shared.Rent(Size);
        int length = array.Length;
        ArrayPool<byte>.Shared.Return(array);
        return length;
    }

    [Benchmark(Description = "dotNext UnmanagedMemoryPool<byte>")]
    [BenchmarkCategory(RentDispose)]
    public int DotNextPool()
    {
        using IMemoryOwner<byte> owner = _dotNext.Rent(Size);
        return owner.Memory.Length;
    }

    [Benchmark(Description = "Toolkit MemoryOwner<byte>")]
    [BenchmarkCategory(RentDispose)]
    public int ToolkitOwner()
    {
        using MemoryOwner<byte> owner = MemoryOwner<byte>.Allocate(Size, AllocationMode.Default);
        return owner.Length;
    }

    [Benchmark(Baseline = true, Description = "MemoryPool<byte>.Shared")]
    [BenchmarkCategory(RentWrite)]
    public int MemoryPoolSharedWrite()
    {
        using IMemoryOwner<byte> owner = MemoryPool<byte>.Shared.Rent(Size);
        return Write(owner.Memory.Span);
    }

    [Benchmark(Description = "NativeMemoryPool.Shared")]
    [BenchmarkCategory(RentWrite)]
    public int NativePoolWrite()
    {
        using IMemoryOwner<byte> owner = NativeMemoryPool.Shared.Rent(Size);
        return Write(owner.Memory.Span);
    }

    [Benchmark(Description = "ArrayPool<byte>.Shared")]
    [BenchmarkCategory(RentWrite)]
    public int ArrayPoolSharedWrite()
    {
        byte[] array = ArrayPool<byte>.Shared.Rent(Size);
        int written = Write(array);
        ArrayPool<byte>.Shared.Return(array);
        return written;
    }

    [Benchmark(Description = "dotNext UnmanagedMemoryPool<byte>")]
    [BenchmarkCategory(RentWrite)]
    public int DotNextPoolWrite()
    {
        using IMemoryOwner<byte> owner = _dotNext.Rent(Size);
        return Write(owner.Memory.Span);
    }

    [Benchmark(Description = "Toolkit MemoryOwner<byte>")]
    [BenchmarkCategory(RentWrite)]
    public int ToolkitOwnerWrite()
    {
        using MemoryOwner<byte> owner = MemoryOwner<byte>.Allocate(Size, AllocationMode.Default);
        return Write(owner.Span);
    }

    private int Write(Span<byte> span)
    {
        span[..Size].Fill(++_value);
        return span.Length;
    }
}
