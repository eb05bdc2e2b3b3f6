using Allocator.Buffers;
using BenchmarkDotNet.Attributes;

namespace Allocator.Benchmarks.Pool;

/// <summary>
/// Where the time of a native rent goes: the allocator's block alone, a plain 40-byte object, the same object with
/// a finalizer (allocated, then GC.SuppressFinalize), and interlocked additions (what shared counters would cost;
/// the pool's are per thread). Explains the design of
/// <see cref="NativeMemoryOwner{T}"/> (see README).
/// </summary>
[MemoryDiagnoser]
public unsafe class PoolCostBenchmarks
{
    private long _a;
    private long _b;
    private long _c;
    private long _d;

    [Benchmark(Description = "NativeAllocator Alloc+Free 4 KiB")]
    public void Block4K() => NativeAllocator.Free(NativeAllocator.Alloc(4096));

    [Benchmark(Description = "new 40-byte object")]
    public object Plain() => new Plain40(1, 2, 3);

    [Benchmark(Description = "new 40-byte finalizable object + SuppressFinalize")]
    public object Finalizable()
    {
        var o = new Finalizable40(1, 2, 3);
        GC.SuppressFinalize(o);
        return o;
    }

    [Benchmark(Description = "4 interlocked adds")]
    public long Counters()
    {
        Interlocked.Add(ref _a, 4096);
        Interlocked.Increment(ref _b);
        Interlocked.Add(ref _c, 4096);
        return Interlocked.Increment(ref _d);
    }

    [Benchmark(Description = "NativeMemoryPool.Shared Rent+Dispose 4 KiB")]
    public int Rent()
    {
        using NativeMemoryOwner<byte> owner = NativeMemoryPool.Shared.RentOwner(4096);
        return owner.Length;
    }

    private sealed class Plain40(nint a, nint b, nint c)
    {
        public nint A = a;
        public nint B = b;
        public nint C = c;
    }

    private sealed class Finalizable40(nint a, nint b, nint c)
    {
        public nint A = a;
        public nint B = b;
        public nint C = c;

        ~Finalizable40()
        {
            A = 0;
        }
    }
}
