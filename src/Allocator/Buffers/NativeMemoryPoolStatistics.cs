namespace Allocator.Buffers;

/// <summary>A snapshot of one pool's counters, from <see cref="NativeMemoryPool{T}.GetStatistics"/>.</summary>
/// <remarks>
/// Bytes are counted as <c>Memory.Length</c> × the element size: what the owners hand out, which is each block's
/// usable size rounded down to whole elements. Each pool counts only its own rents; the allocator's global view is
/// <see cref="NativeAllocator.GetStatistics"/>. Counts are exact when nothing rents or returns during the call.
/// </remarks>
public sealed class NativeMemoryPoolStatistics
{
    /// <summary>Rents so far.</summary>
    public long Rents { get; init; }

    /// <summary>Bytes handed out by all rents so far.</summary>
    public long RentedBytes { get; init; }

    /// <summary>Owners disposed so far.</summary>
    public long Returns { get; init; }

    /// <summary>Owners finalized without being disposed so far; their blocks were returned by the finalizer.</summary>
    public long Leaked { get; init; }

    /// <summary>Bytes of the leaked owners.</summary>
    public long LeakedBytes { get; init; }

    /// <summary>Owners alive now: <see cref="Rents"/> − <see cref="Returns"/> − <see cref="Leaked"/>.</summary>
    public long Outstanding => Rents - Returns - Leaked;

    /// <summary>Bytes held by the owners alive now.</summary>
    public long OutstandingBytes { get; init; }

    /// <summary>The highest <see cref="OutstandingBytes"/> seen.</summary>
    /// <remarks>
    /// Exact for a pool with a <see cref="NativeMemoryPoolOptions.ByteBudget"/>, and for any pool that one thread rents
    /// from (any thread may dispose). With several renting threads it is sampled whenever a thread's own outstanding
    /// bytes pass their previous high, so a moment when several threads each hold less than their own high, but
    /// together more than ever, can be missed.
    /// </remarks>
    public long PeakOutstandingBytes { get; init; }

    /// <summary>The most recent leaks (up to 16), oldest first, with their rent stacks in checked mode.</summary>
    public IReadOnlyList<NativeMemoryLeak> RecentLeaks { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Rents} rents ({RentedBytes} B), {Returns} returns, {Outstanding} outstanding ({OutstandingBytes} B, peak {PeakOutstandingBytes} B), {Leaked} leaked ({LeakedBytes} B)";
}

/// <summary>An owner that was finalized without being disposed.</summary>
/// <param name="Length">Its length in elements.</param>
/// <param name="Bytes">Its size in bytes.</param>
/// <param name="RentStackTrace">Where it was rented, when the pool is in checked mode; otherwise null.</param>
public sealed record NativeMemoryLeak(int Length, long Bytes, string? RentStackTrace)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"leaked native memory owner of {Length} elements ({Bytes} bytes), never disposed; " +
        (RentStackTrace is null ? "set Allocator.Checked (ALLOCATOR_CHECKED=1) or NativeMemoryPoolOptions.Checked to record where it was rented." : "rented at:" + Environment.NewLine + RentStackTrace);
}
