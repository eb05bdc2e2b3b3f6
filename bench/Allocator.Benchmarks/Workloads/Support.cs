using System.Runtime.CompilerServices;

namespace Allocator.Benchmarks.Workloads;

/// <summary>xorshift64*: a fast, seedable generator, like the small generators the C originals carry.</summary>
public struct FastRandom(ulong seed)
{
    private ulong _state = seed * 0x9E3779B97F4A7C15UL | 1;

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>A number in [0, <paramref name="bound"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Below(int bound) => (int)((Next() >> 32) * (ulong)(uint)bound >> 32);

    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Between(int min, int max) => min + Below(max - min + 1);

    /// <summary>True with probability <paramref name="percent"/>/100.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Chance(int percent) => Below(100) < percent;

    /// <summary>A double in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A tag for a block's pattern.</summary>
    public uint NextTag() => (uint)(Next() >> 32);
}

/// <summary>
/// Runs a body on dedicated threads and rethrows the first failure on the caller. The threads start their bodies
/// together, as the C originals' workers wait on a start flag: without the gate the first thread runs alone while
/// the others are still being created, which on a 2-core machine lets one thread get tens of milliseconds ahead,
/// and in the workloads that hand blocks between threads that lag, not the allocator, sets the peak memory.
/// </summary>
public static class ThreadGroup
{
    /// <summary>Runs <paramref name="body"/>(index) on <paramref name="count"/> new threads and waits for all.</summary>
    public static void Run(int count, Action<int> body)
    {
        var threads = new Thread[count];
        Exception? failure = null;
        using var start = new ManualResetEventSlim(false);
        for (int i = 0; i < count; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    start.Wait();
                    body(index);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            }) { IsBackground = true, Name = $"workload-{index}" };
            threads[i].Start();
        }

        start.Set();

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
