namespace Allocator.Buffers;

/// <summary>
/// One pool's counters. Outstanding bytes, which the budget and the peak depend on, are one interlocked counter;
/// the running totals (rents, rented bytes, returns) are kept per thread in plain fields that only their thread
/// writes, and summed by <see cref="Snapshot"/>, so a rent and its dispose cost two interlocked additions, not five.
/// </summary>
internal sealed class PoolCounters
{
    // A thread's counters for the pools it uses: the last one a field read away, the others in a small map.
    private const int MaxPoolsPerThread = 32;

    [ThreadStatic]
    private static ThreadCounters? t_last;

    [ThreadStatic]
    private static Dictionary<PoolCounters, ThreadCounters>? t_mine;

    private readonly List<ThreadCounters> _threads = [];
    private long _retiredRents;
    private long _retiredRentedBytes;
    private long _retiredReturns;
    private long _outstandingBytes;
    private long _peakOutstandingBytes;
    private long _leaked;
    private long _leakedBytes;

    /// <summary>Bytes outstanding now.</summary>
    public long Outstanding => Volatile.Read(ref _outstandingBytes);

    /// <summary>Counts a rent of <paramref name="bytes"/>; false (and nothing counted) when it would pass <paramref name="budget"/>.</summary>
    public bool TryRent(long bytes, long budget)
    {
        long now = Interlocked.Add(ref _outstandingBytes, bytes);
        if (now > budget)
        {
            Interlocked.Add(ref _outstandingBytes, -bytes);
            return false;
        }

        if (now > Volatile.Read(ref _peakOutstandingBytes))
        {
            RaisePeak(now);
        }

        ThreadCounters mine = Mine();
        Volatile.Write(ref mine.Rents, mine.Rents + 1);
        Volatile.Write(ref mine.RentedBytes, mine.RentedBytes + bytes);
        return true;
    }

    /// <summary>Counts a disposed owner of <paramref name="bytes"/>.</summary>
    public void Return(long bytes)
    {
        Interlocked.Add(ref _outstandingBytes, -bytes);
        ThreadCounters mine = Mine();
        Volatile.Write(ref mine.Returns, mine.Returns + 1);
    }

    /// <summary>Counts a finalized (leaked) owner of <paramref name="bytes"/>.</summary>
    public void Leak(long bytes)
    {
        Interlocked.Add(ref _outstandingBytes, -bytes);
        Interlocked.Add(ref _leakedBytes, bytes);
        Interlocked.Increment(ref _leaked);
    }

    public NativeMemoryPoolStatistics Snapshot(IReadOnlyList<NativeMemoryLeak> recentLeaks)
    {
        long rents, rentedBytes, returns;
        lock (_threads)
        {
            rents = _retiredRents;
            rentedBytes = _retiredRentedBytes;
            returns = _retiredReturns;
            foreach (ThreadCounters counters in _threads)
            {
                rents += Volatile.Read(ref counters.Rents);
                rentedBytes += Volatile.Read(ref counters.RentedBytes);
                returns += Volatile.Read(ref counters.Returns);
            }
        }

        return new()
        {
            Rents = rents,
            RentedBytes = rentedBytes,
            Returns = returns,
            Leaked = Volatile.Read(ref _leaked),
            LeakedBytes = Volatile.Read(ref _leakedBytes),
            OutstandingBytes = Volatile.Read(ref _outstandingBytes),
            PeakOutstandingBytes = Volatile.Read(ref _peakOutstandingBytes),
            RecentLeaks = recentLeaks,
        };
    }

    /// <summary>The calling thread's counters for this pool: the last pool it used is one thread-static read away.</summary>
    private ThreadCounters Mine()
    {
        ThreadCounters? last = t_last;
        return last is not null && last.Pool == this ? last : MineSlow();
    }

    private ThreadCounters MineSlow()
    {
        Dictionary<PoolCounters, ThreadCounters> mine = t_mine ??= [];
        if (!mine.TryGetValue(this, out ThreadCounters? counters))
        {
            if (mine.Count == MaxPoolsPerThread)
            {
                // A thread that has used many pools forgets them (its counters stay registered with each pool).
                mine.Clear();
            }

            counters = Register();
            mine[this] = counters;
        }

        t_last = counters;
        return counters;
    }

    /// <summary>Finds or adds the calling thread's counters; folds those of exited threads into the retired totals.</summary>
    private ThreadCounters Register()
    {
        Thread current = Thread.CurrentThread;
        lock (_threads)
        {
            ThreadCounters? found = null;
            for (int i = _threads.Count - 1; i >= 0; i--)
            {
                ThreadCounters counters = _threads[i];
                if (counters.Thread == current)
                {
                    found = counters;
                }
                else if (!counters.Thread.IsAlive)
                {
                    // An exited thread never writes again: its totals are final.
                    _retiredRents += counters.Rents;
                    _retiredRentedBytes += counters.RentedBytes;
                    _retiredReturns += counters.Returns;
                    _threads.RemoveAt(i);
                }
            }

            if (found is null)
            {
                found = new ThreadCounters(this, current);
                _threads.Add(found);
            }

            return found;
        }
    }

    private void RaisePeak(long now) => AtomicMax.Raise(ref _peakOutstandingBytes, now);

    /// <summary>One thread's totals for one pool; written only by that thread.</summary>
    private sealed class ThreadCounters(PoolCounters pool, Thread thread)
    {
        public readonly PoolCounters Pool = pool;
        public readonly Thread Thread = thread;
        public long Rents;
        public long RentedBytes;
        public long Returns;
    }
}
