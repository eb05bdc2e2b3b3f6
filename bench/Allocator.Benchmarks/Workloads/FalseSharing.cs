using System.Runtime.CompilerServices;

namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// Hoard's cache-scratch and cache-thrash: each thread repeatedly allocates a tiny object, writes it many times
/// and frees it. An allocator that places different threads' objects in one cache line makes the writes
/// ping-pong between cores (false sharing).
/// </summary>
public abstract class FalseSharing : Workload
{
    private const int ObjectSize = 1;
    private const int Iterations = 1000;
    private const int Repetitions = 50_000;

    /// <summary>Passive (cache-scratch): the main thread allocates each thread's first object, which the thread
    /// frees before its loop, so an allocator that reuses that memory there shares lines between threads.</summary>
    protected abstract bool Passive { get; }

    public override string Scaling =>
        $"mimalloc-bench `{Name} N 1000 1 2000000 N`: 1-byte objects, 1,000 iterations split " +
        "over the threads. Repetitions (writes per object) cut from 2,000,000 to 50,000, iterations x scale.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int threads = run.Threads;
        int iterationsPerThread = Math.Max(1, run.Scaled(Iterations) / threads);
        var first = new TBlock[threads];
        if (Passive)
        {
            for (int t = 0; t < threads; t++)
            {
                first[t] = THeap.Alloc(ObjectSize);
            }
        }

        ThreadGroup.Run(threads, t =>
        {
            if (Passive)
            {
                THeap.Free(first[t]);
            }

            for (int i = 0; i < iterationsPerThread; i++)
            {
                TBlock block = THeap.Alloc(ObjectSize);
                Hammer(THeap.Bytes(block, ObjectSize));
                THeap.Free(block);
            }
        });

        return (long)threads * iterationsPerThread;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Hammer(Span<byte> bytes)
    {
        bytes.Clear();
        for (int r = 0; r < Repetitions; r++)
        {
            for (int k = 0; k < bytes.Length; k++)
            {
                Volatile.Write(ref bytes[k], (byte)(Volatile.Read(ref bytes[k]) + 1));
            }
        }

        for (int k = 0; k < bytes.Length; k++)
        {
            if (bytes[k] != unchecked((byte)Repetitions))
            {
                BlockCorruptedException.Throw(bytes.Length, 0, k);
            }
        }
    }
}

/// <summary>cache-scratch: passive false sharing.</summary>
public sealed class CacheScratch : FalseSharing
{
    public override string Name => "cache-scratch";

    protected override bool Passive => true;
}

/// <summary>cache-thrash: active false sharing.</summary>
public sealed class CacheThrash : FalseSharing
{
    public override string Name => "cache-thrash";

    protected override bool Passive => false;
}
