using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// One pool's counters, kept per thread so that a rent and its dispose on the same thread execute no interlocked
/// instruction for statistics; <see cref="Snapshot"/> sums them.
/// </summary>
/// <remarks>
/// <para><b>Per thread.</b> Each thread that rents from the pool has a <see cref="ThreadCounters"/>: its rents and
/// rented bytes, and the returns of the blocks it rented. A block remembers its renter's counters, so a dispose on
/// the renting thread adds to plain fields only that thread writes; a dispose on another thread, or a leak found by
/// the finalizer, adds to the renter's remote fields with interlocked additions. The bytes a thread holds are thus
/// exact, and <see cref="NativeMemoryPoolStatistics.OutstandingBytes"/> (their sum) is exact whenever nothing rents
/// or returns during <see cref="Snapshot"/>. Counters of exited threads are folded into fixed totals once all
/// their blocks are back.</para>
/// <para><b>Peak.</b> A pool with a byte budget needs the outstanding bytes at every rent anyway: it keeps them in
/// one interlocked counter, and its peak is exact. A pool without one samples: when a thread's own outstanding bytes
/// pass their previous high, it sums every thread's outstanding bytes and raises the peak to that. When one thread
/// rents from the pool this is exact (its own outstanding bytes are the pool's, so a new peak is a new high of its
/// own); with several renting threads, a moment when each holds less than its own high but their sum is a new peak
/// can be missed. A steady rent-and-return loop reaches its high once and then never takes this path.</para>
/// </remarks>
internal sealed class PoolCounters
{
    // A thread's counters for the pools it uses: the last one a field read away, the others in a small map.
    private const int MaxPoolsPerThread = 32;

    private readonly PoolState _state;
    private readonly bool _hasBudget;
    private readonly List<ThreadCounters> _threads = [];
    private long _retiredRents;
    private long _retiredRentedBytes;
    private long _retiredReturns;
    private long _retiredReturnedBytes;
    private long _outstandingBytes; // only with a budget
    private long _peakOutstandingBytes;
    private long _leaked;
    private long _leakedBytes;

    public PoolCounters(PoolState state, bool hasBudget)
    {
        _state = state;
        _hasBudget = hasBudget;
    }

    /// <summary>Bytes outstanding now, exactly; only for a pool with a budget.</summary>
    public long BudgetOutstanding => Volatile.Read(ref _outstandingBytes);

    /// <summary>For a pool with a budget: reserves <paramref name="bytes"/>; false (and nothing reserved) when that would pass <paramref name="budget"/>.</summary>
    public bool TryReserve(long bytes, long budget)
    {
        long now = Interlocked.Add(ref _outstandingBytes, bytes);
        if (now > budget)
        {
            Interlocked.Add(ref _outstandingBytes, -bytes);
            return false;
        }

        AtomicMax.Raise(ref _peakOutstandingBytes, now);
        return true;
    }

    /// <summary>Counts a rent of <paramref name="bytes"/> on the thread of <paramref name="cache"/>; returns the counters the block must remember.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ThreadCounters Rent(ThreadCache cache, long bytes)
    {
        ThreadCounters? mine = cache.LastCounters;
        if (mine is null || mine.Pool != this)
        {
            mine = Mine(cache);
        }

        Volatile.Write(ref mine.Rents, mine.Rents + 1);
        long rented = mine.RentedBytes + bytes;
        Volatile.Write(ref mine.RentedBytes, rented);
        long held = rented - mine.ReturnedBytes - Volatile.Read(ref mine.RemoteReturnedBytes);
        if (held > mine.High)
        {
            SamplePeak(mine, held);
        }

        return mine;
    }

    /// <summary>Counts the dispose, on the thread of <paramref name="cache"/>, of a block of <paramref name="bytes"/> rented by <paramref name="renter"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Return(ThreadCounters renter, ThreadCache cache, long bytes)
    {
        if (renter.Thread == cache.Thread)
        {
            Volatile.Write(ref renter.Returns, renter.Returns + 1);
            Volatile.Write(ref renter.ReturnedBytes, renter.ReturnedBytes + bytes);
        }
        else
        {
            ReturnRemote(renter, bytes);
        }
    }

    /// <summary>For a pool with a budget: gives back what <see cref="TryReserve"/> reserved for a returned block.</summary>
    public void ReleaseBudget(long bytes) => Interlocked.Add(ref _outstandingBytes, -bytes);

    /// <summary>Counts a finalized (leaked) owner of <paramref name="bytes"/> rented by <paramref name="renter"/>.</summary>
    public void Leak(ThreadCounters renter, long bytes)
    {
        Interlocked.Add(ref _leakedBytes, bytes);
        Interlocked.Increment(ref _leaked);
        ReturnRemote(renter, bytes);
        if (_hasBudget)
        {
            Interlocked.Add(ref _outstandingBytes, -bytes);
        }
    }

    public NativeMemoryPoolStatistics Snapshot(IReadOnlyList<NativeMemoryLeak> recentLeaks)
    {
        long rents, rentedBytes, returns, returnedBytes;
        lock (_threads)
        {
            rents = _retiredRents;
            rentedBytes = _retiredRentedBytes;
            returns = _retiredReturns;
            returnedBytes = _retiredReturnedBytes;
            foreach (ThreadCounters counters in _threads)
            {
                rents += Volatile.Read(ref counters.Rents);
                rentedBytes += Volatile.Read(ref counters.RentedBytes);
                returns += counters.AllReturns;
                returnedBytes += counters.AllReturnedBytes;
            }
        }

        // Leaks are counted among the renters' remote returns; the statistics keep them apart.
        long leaked = Volatile.Read(ref _leaked);
        return new()
        {
            Rents = rents,
            RentedBytes = rentedBytes,
            Returns = returns - leaked,
            Leaked = leaked,
            LeakedBytes = Volatile.Read(ref _leakedBytes),
            OutstandingBytes = rentedBytes - returnedBytes,
            PeakOutstandingBytes = Volatile.Read(ref _peakOutstandingBytes),
            RecentLeaks = recentLeaks,
        };
    }

    private static void ReturnRemote(ThreadCounters renter, long bytes)
    {
        Interlocked.Increment(ref renter.RemoteReturns);
        Interlocked.Add(ref renter.RemoteReturnedBytes, bytes);
    }

    /// <summary>A thread's outstanding bytes passed its high: raises the peak to the sum over all threads.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SamplePeak(ThreadCounters mine, long held)
    {
        mine.High = held;
        long sum = 0;
        lock (_threads)
        {
            sum = _retiredRentedBytes - _retiredReturnedBytes;
            foreach (ThreadCounters counters in _threads)
            {
                sum += Volatile.Read(ref counters.RentedBytes) - counters.AllReturnedBytes;
            }
        }

        AtomicMax.Raise(ref _peakOutstandingBytes, sum);
    }

    /// <summary>The calling thread's counters for this pool, when they are not the last it used; they become so.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCounters Mine(ThreadCache cache)
    {
        Dictionary<PoolCounters, ThreadCounters> mine = cache.AllCounters ??= [];
        if (!mine.TryGetValue(this, out ThreadCounters? counters))
        {
            if (mine.Count == MaxPoolsPerThread)
            {
                // A thread that has used many pools forgets them (its counters stay registered with each pool).
                mine.Clear();
            }

            counters = Register(cache);
            mine[this] = counters;
        }

        cache.LastCounters = counters;
        return counters;
    }

    /// <summary>Finds or adds the calling thread's counters; folds those of exited threads whose blocks are all back into the retired totals.</summary>
    private ThreadCounters Register(ThreadCache cache)
    {
        lock (_threads)
        {
            ThreadCounters? found = null;
            for (int i = _threads.Count - 1; i >= 0; i--)
            {
                ThreadCounters counters = _threads[i];
                if (counters.Thread == cache.Thread)
                {
                    found = counters;
                }
                else if (!counters.Thread.IsAlive && counters.IsSettled)
                {
                    // An exited thread never writes again, and with every block it rented back nobody else will.
                    _retiredRents += counters.Rents;
                    _retiredRentedBytes += counters.RentedBytes;
                    _retiredReturns += counters.AllReturns;
                    _retiredReturnedBytes += counters.AllReturnedBytes;
                    _threads.RemoveAt(i);
                }
            }

            if (found is null)
            {
                // With a budget the peak is exact already: never sample.
                found = new ThreadCounters(this, _state, cache) { High = _hasBudget ? long.MaxValue : 0 };
                _threads.Add(found);
            }

            return found;
        }
    }
}

/// <summary>
/// One thread's counters for one pool. The plain fields are written only by that thread; the remote ones, by
/// other threads returning its blocks and by the finalizer, with interlocked additions.
/// </summary>
internal sealed class ThreadCounters(PoolCounters pool, PoolState state, ThreadCache cache)
{
    public readonly PoolCounters Pool = pool;
    public readonly PoolState State = state;
    /// <summary>The thread; not its <see cref="ThreadCache"/>, which must become unreachable when the thread exits (its cached blocks are then freed by their finalizers).</summary>
    public readonly Thread Thread = cache.Thread;

    /// <summary>A copy of <see cref="PoolState.PlainReturn"/>, one load closer to the returning owner.</summary>
    public readonly bool PlainReturn = state.PlainReturn;
    public long Rents;
    public long RentedBytes;
    public long Returns;
    public long ReturnedBytes;
    public long RemoteReturns;
    public long RemoteReturnedBytes;

    /// <summary>The most bytes this thread has held since the peak was last sampled for it; written only by this thread.</summary>
    public long High;

    public long AllReturns => Volatile.Read(ref Returns) + Volatile.Read(ref RemoteReturns);

    public long AllReturnedBytes => Volatile.Read(ref ReturnedBytes) + Volatile.Read(ref RemoteReturnedBytes);

    /// <summary>True when every block this thread rented is back (remote returns count first, then bytes, so an unfinished one never looks settled).</summary>
    public bool IsSettled => Rents == AllReturns && RentedBytes == AllReturnedBytes;
}
