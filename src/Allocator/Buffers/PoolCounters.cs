namespace Allocator.Buffers;

/// <summary>
/// One pool's counters, updated with interlocked instructions. Outstanding bytes are the one counter the budget
/// and the peak depend on, so a rent adds to it first and backs out if that crossed the budget.
/// </summary>
internal struct PoolCounters
{
    public long Rents;
    public long RentedBytes;
    public long Returns;
    public long Leaked;
    public long LeakedBytes;
    public long OutstandingBytes;
    public long PeakOutstandingBytes;

    /// <summary>Bytes outstanding now.</summary>
    public readonly long Outstanding => Volatile.Read(in OutstandingBytes);

    /// <summary>Counts a rent of <paramref name="bytes"/>; false (and nothing counted) when it would pass <paramref name="budget"/>.</summary>
    public bool TryRent(long bytes, long budget)
    {
        long now = Interlocked.Add(ref OutstandingBytes, bytes);
        if (now > budget)
        {
            Interlocked.Add(ref OutstandingBytes, -bytes);
            return false;
        }

        if (now > Volatile.Read(ref PeakOutstandingBytes))
        {
            RaisePeak(now);
        }

        Interlocked.Increment(ref Rents);
        Interlocked.Add(ref RentedBytes, bytes);
        return true;
    }

    /// <summary>Counts a disposed owner of <paramref name="bytes"/>.</summary>
    public void Return(long bytes)
    {
        Interlocked.Add(ref OutstandingBytes, -bytes);
        Interlocked.Increment(ref Returns);
    }

    /// <summary>Counts a finalized (leaked) owner of <paramref name="bytes"/>.</summary>
    public void Leak(long bytes)
    {
        Interlocked.Add(ref OutstandingBytes, -bytes);
        Interlocked.Add(ref LeakedBytes, bytes);
        Interlocked.Increment(ref Leaked);
    }

    public readonly NativeMemoryPoolStatistics Snapshot(IReadOnlyList<NativeMemoryLeak> recentLeaks) => new()
    {
        Rents = Volatile.Read(in Rents),
        RentedBytes = Volatile.Read(in RentedBytes),
        Returns = Volatile.Read(in Returns),
        Leaked = Volatile.Read(in Leaked),
        LeakedBytes = Volatile.Read(in LeakedBytes),
        OutstandingBytes = Volatile.Read(in OutstandingBytes),
        PeakOutstandingBytes = Volatile.Read(in PeakOutstandingBytes),
        RecentLeaks = recentLeaks,
    };

    private void RaisePeak(long now)
    {
        long peak = Volatile.Read(ref PeakOutstandingBytes);
        while (now > peak)
        {
            long seen = Interlocked.CompareExchange(ref PeakOutstandingBytes, now, peak);
            if (seen == peak)
            {
                return;
            }

            peak = seen;
        }
    }
}
