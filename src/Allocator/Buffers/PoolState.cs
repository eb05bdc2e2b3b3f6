using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// The part of a <see cref="NativeMemoryPool{T}"/> that its blocks and owners talk to, without the element type:
/// return, leak reporting, statistics.
/// </summary>
internal sealed unsafe class PoolState
{
    private const int RecentLeakCount = 16;

    private readonly Queue<NativeMemoryLeak> _recentLeaks = new();
    private readonly string _poolName;
    private readonly int _elementSize;
    private readonly bool _clearOnReturn;
    private readonly bool _isChecked;
    private readonly bool _hasBudget;
    private readonly PoolCounters _counters;

    public PoolState(string poolName, int elementSize, bool clearOnReturn, bool isChecked, bool hasBudget)
    {
        _hasBudget = hasBudget;
        _poolName = poolName;
        _elementSize = elementSize;
        _clearOnReturn = clearOnReturn;
        _isChecked = isChecked;
        _counters = new PoolCounters(this, hasBudget);
    }

    /// <summary>Raised for each leaked owner; see <see cref="NativeMemoryPool{T}.LeakDetected"/>.</summary>
    public Action<NativeMemoryLeak>? LeakDetected;

    public PoolCounters Counters => _counters;

    /// <summary>True when a return has nothing to do but count and cache: no clearing, no rent stack, no budget.</summary>
    public bool PlainReturn => !_clearOnReturn && !_isChecked && !_hasBudget;

    /// <summary>Called by the owner's Dispose that won <paramref name="block"/>'s ticket (see <see cref="NativeBlock.Ticket"/>), on any thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Return(NativeBlock block)
    {
        ThreadCounters renter = block.Renter!;
        long bytes = block.Bytes;
        if (!renter.PlainReturn)
        {
            renter.State.ReturnUnusual(block, bytes);
        }

        ThreadCache cache = ThreadCache.Current;
        PoolCounters.Return(renter, cache, bytes);
        BlockCache.Give(cache, block);
    }

    /// <summary>Called by a block's finalizer when its owner was never disposed. Never throws.</summary>
    public void ReturnLeaked(NativeBlock block, ThreadCounters renter, void* pointer)
    {
        try
        {
            long bytes = block.Bytes;
            if (_clearOnReturn)
            {
                NativeAllocator.Clear(pointer, (nuint)bytes);
            }

            NativeAllocator.Free(pointer);
            _counters.Leak(renter, bytes);
            var leak = new NativeMemoryLeak((int)(bytes / _elementSize), bytes, block.RentStack?.ToString());
            lock (_recentLeaks)
            {
                if (_recentLeaks.Count == RecentLeakCount)
                {
                    _recentLeaks.Dequeue();
                }

                _recentLeaks.Enqueue(leak);
            }

            if (_isChecked)
            {
                Trace.TraceWarning("{0}: {1}", _poolName, leak);
            }

            LeakDetected?.Invoke(leak);
        }
        catch (Exception)
        {
            // A finalizer must not throw: that would end the process.
        }
    }

    /// <summary>The rare parts of a return: clearing, dropping the rent's stack, giving back the budget.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnUnusual(NativeBlock block, long bytes)
    {
        if (_clearOnReturn)
        {
            NativeAllocator.Clear((void*)block.Pointer, (nuint)bytes);
        }

        if (_isChecked)
        {
            block.RentStack = null;
        }

        if (_hasBudget)
        {
            _counters.ReleaseBudget(bytes);
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
