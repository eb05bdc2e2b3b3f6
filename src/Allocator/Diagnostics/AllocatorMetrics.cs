using System.Diagnostics.Metrics;
using Allocator.Buffers;

namespace Allocator.Diagnostics;

/// <summary>
/// The allocator's metrics, for <c>dotnet-counters monitor --counters Allocator -p PID</c> and OpenTelemetry: a
/// <see cref="Meter"/> named <c>Allocator</c> whose instruments are all observable, so nothing is paid on the
/// allocation paths; values are read from <see cref="NativeAllocator.GetStatistics"/> and
/// <see cref="NativeMemoryPool.Shared"/>'s statistics only when a listener collects.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Instrument</term><description>Kind, unit: meaning</description></listheader>
/// <item><term>allocator.memory.in_use</term><description>up-down counter, By: bytes in live blocks</description></item>
/// <item><term>allocator.memory.committed</term><description>up-down counter, By: bytes that may be backed by physical memory</description></item>
/// <item><term>allocator.memory.reserved</term><description>up-down counter, By: address space mapped</description></item>
/// <item><term>allocator.allocations</term><description>counter, {allocation}</description></item>
/// <item><term>allocator.frees</term><description>counter, {free}</description></item>
/// <item><term>allocator.os.maps</term><description>counter, {call}: mmap and mremap calls</description></item>
/// <item><term>allocator.os.unmaps</term><description>counter, {call}: munmap calls</description></item>
/// <item><term>allocator.os.purges</term><description>counter, {call}: madvise(MADV_DONTNEED) calls</description></item>
/// <item><term>allocator.bad_frees</term><description>counter, {call}: bad pointers and double frees caught</description></item>
/// <item><term>allocator.pool.rented</term><description>counter, {buffer}: rents from NativeMemoryPool.Shared</description></item>
/// <item><term>allocator.pool.outstanding</term><description>up-down counter, By: bytes rented and not yet returned</description></item>
/// <item><term>allocator.pool.leaked</term><description>counter, {buffer}: owners finalized without Dispose</description></item>
/// </list>
/// </remarks>
public static class AllocatorMetrics
{
    /// <summary>The meter's name: <c>Allocator</c>.</summary>
    public const string MeterName = "Allocator";

    /// <summary>
    /// The meter. The allocator creates it at start-up when System.Diagnostics.DiagnosticSource is loaded, else as
    /// soon as it is (any listener needs that assembly), so a listener attached at any time sees it; reading this
    /// property creates it at once.
    /// </summary>
    public static Meter Meter { get; } = Create();

    /// <summary>Bad pointers and double frees caught so far.</summary>
    public static long BadFrees => Volatile.Read(ref MetricsActivation.s_badFrees);

    /// <summary>Makes sure the meter exists (see <see cref="MetricsActivation"/>).</summary>
    internal static void EnsureCreated() => _ = Meter;

    private static Meter Create()
    {
        var meter = new Meter(MeterName, typeof(AllocatorMetrics).Assembly.GetName().Version?.ToString());
        meter.CreateObservableUpDownCounter("allocator.memory.in_use", () => Stats().BytesInUse, "By", "Bytes in live blocks");
        meter.CreateObservableUpDownCounter("allocator.memory.committed", () => Stats().BytesCommitted, "By", "Bytes that may be backed by physical memory");
        meter.CreateObservableUpDownCounter("allocator.memory.reserved", () => Stats().BytesReserved, "By", "Address space mapped");
        meter.CreateObservableCounter("allocator.allocations", () => Stats().Allocations, "{allocation}", "Blocks allocated");
        meter.CreateObservableCounter("allocator.frees", () => Stats().Frees, "{free}", "Blocks freed");
        meter.CreateObservableCounter("allocator.os.maps", () => Stats().OsMapCalls, "{call}", "mmap and mremap calls");
        meter.CreateObservableCounter("allocator.os.unmaps", () => Stats().OsUnmapCalls, "{call}", "munmap calls");
        meter.CreateObservableCounter("allocator.os.purges", () => Stats().OsPurgeCalls, "{call}", "madvise(MADV_DONTNEED) calls");
        meter.CreateObservableCounter("allocator.bad_frees", () => BadFrees, "{call}", "Bad pointers and double frees caught");
        meter.CreateObservableCounter("allocator.pool.rented", () => NativeMemoryPool.Shared.GetStatistics().Rents, "{buffer}", "Rents from NativeMemoryPool.Shared");
        meter.CreateObservableUpDownCounter("allocator.pool.outstanding", () => NativeMemoryPool.Shared.GetStatistics().OutstandingBytes, "By", "Bytes rented from NativeMemoryPool.Shared and not returned");
        meter.CreateObservableCounter("allocator.pool.leaked", () => NativeMemoryPool.Shared.GetStatistics().Leaked, "{buffer}", "Owners finalized without Dispose");
        return meter;
    }

    // One snapshot serves the instruments of one collection pass: a listener reads them back to back.
    [ThreadStatic] private static AllocatorStatistics? t_snapshot;
    [ThreadStatic] private static long t_snapshotAt;

    private static AllocatorStatistics Stats()
    {
        long now = Environment.TickCount64;
        if (t_snapshot is null || now - t_snapshotAt > 50)
        {
            t_snapshot = NativeAllocator.GetStatistics();
            t_snapshotAt = now;
        }

        return t_snapshot;
    }
}
