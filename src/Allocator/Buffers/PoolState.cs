using System.Diagnostics;

namespace Allocator.Buffers;

/// <summary>
/// The part of a <see cref="NativeMemoryPool{T}"/> that its blocks and owners talk to, without the element type:
/// return, leak reporting, statistics.
/// </summary>
internal sealed unsafe class PoolState(string poolName, int elementSize, bool clearOnReturn, bool isChecked)
{
    private const int RecentLeakCount = 16;

    private readonly Queue<NativeMemoryLeak> _recentLeaks = new();

    private readonly PoolCounters _counters = new();

    /// <summary>Raised for each leaked owner; see <see cref="NativeMemoryPool{T}.LeakDetected"/>.</summary>
    public Action<NativeMemoryLeak>? LeakDetected;

    public bool IsChecked => isChecked;

    public PoolCounters Counters => _counters;

    /// <summary>Called by an owner's Dispose, which has taken <paramref name="block"/> from it.</summary>
    public void Return(NativeBlock block)
    {
        long bytes = (long)block.Length * elementSize;
        if (clearOnReturn)
        {
            NativeAllocator.Clear((void*)block.Pointer, (nuint)bytes);
        }

        block.InUse = false;
        if (isChecked)
        {
            block.RentStack = null;
        }

        _counters.Return(bytes);
        BlockCache.Give(block);
    }

    /// <summary>Called by a block's finalizer when its owner was never disposed. Never throws.</summary>
    public void ReturnLeaked(NativeBlock block, void* pointer)
    {
        try
        {
            long bytes = (long)block.Length * elementSize;
            if (clearOnReturn)
            {
                NativeAllocator.Clear(pointer, (nuint)bytes);
            }

            NativeAllocator.Free(pointer);
            _counters.Leak(bytes);
            var leak = new NativeMemoryLeak(block.Length, bytes, block.RentStack?.ToString());
            lock (_recentLeaks)
            {
                if (_recentLeaks.Count == RecentLeakCount)
                {
                    _recentLeaks.Dequeue();
                }

                _recentLeaks.Enqueue(leak);
            }

            if (isChecked)
            {
                Trace.TraceWarning("{0}: {1}", poolName, leak);
            }

            LeakDetected?.Invoke(leak);
        }
        catch (Exception)
        {
            // A finalizer must not throw: that would end the process.
        }
    }

    public NativeMemoryPoolStatistics Snapshot(bool withLeaks)
    {
        NativeMemoryLeak[] leaks = [];
        if (withLeaks)
        {
            lock (_recentLeaks)
            {
                leaks = [.. _recentLeaks];
            }
        }

        return _counters.Snapshot(leaks);
    }
}
