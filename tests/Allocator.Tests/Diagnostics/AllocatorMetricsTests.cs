using Allocator.Buffers;
using Allocator.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace Allocator.Tests.Diagnostics;

/// <summary>The Allocator meter's observable instruments report the allocator's state after known work.</summary>
[Collection(StatisticsCollection.Name)]
public unsafe class AllocatorMetricsTests
{
    private static long Observe(string instrument)
    {
        using var collector = new MetricCollector<long>(AllocatorMetrics.Meter, instrument);
        Thread.Sleep(60); // the instruments share one snapshot for 50 ms
        collector.RecordObservableInstruments();
        return collector.LastMeasurement!.Value;
    }

    [Fact]
    public void InstrumentsAreNamedAndUnitedTheOpenTelemetryWay()
    {
        Assert.Equal("Allocator", AllocatorMetrics.Meter.Name);
        var seen = new List<(string Name, string? Unit)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == AllocatorMetrics.Meter)
            {
                seen.Add((instrument.Name, instrument.Unit));
            }
        };
        listener.Start();
        Assert.Contains(("allocator.memory.in_use", "By"), seen);
        Assert.Contains(("allocator.memory.committed", "By"), seen);
        Assert.Contains(("allocator.memory.reserved", "By"), seen);
        Assert.Contains(("allocator.pool.outstanding", "By"), seen);
        foreach (string name in new[] { "allocator.allocations", "allocator.frees", "allocator.os.maps", "allocator.os.unmaps", "allocator.os.purges", "allocator.bad_frees", "allocator.pool.rented", "allocator.pool.leaked" })
        {
            Assert.Contains(seen, s => s.Name == name);
        }

        Assert.All(seen, s => Assert.Equal(s.Name.ToLowerInvariant(), s.Name));
    }

    [Fact]
    public void ValuesFollowKnownWork()
    {
        long allocations = Observe("allocator.allocations");
        long frees = Observe("allocator.frees");
        long inUse = Observe("allocator.memory.in_use");
        long badFrees = Observe("allocator.bad_frees");

        var blocks = new List<nint>();
        for (int i = 0; i < 100; i++)
        {
            blocks.Add((nint)NativeAllocator.Alloc(1000)); // class 1024
        }

        Assert.Equal(allocations + 100, Observe("allocator.allocations"));
        Assert.Equal(inUse + (100 * 1024), Observe("allocator.memory.in_use"));
        Assert.True(Observe("allocator.memory.committed") >= 100 * 1024);
        Assert.True(Observe("allocator.memory.reserved") >= Observe("allocator.memory.committed"));

        foreach (nint p in blocks)
        {
            NativeAllocator.Free((void*)p);
        }

        Assert.Equal(frees + 100, Observe("allocator.frees"));
        Assert.Equal(inUse, Observe("allocator.memory.in_use"));

        void* freed = NativeAllocator.Alloc(64);
        NativeAllocator.Free(freed);
        Assert.Throws<InvalidOperationException>(() => NativeAllocator.Free(freed));
        byte* onStack = stackalloc byte[16];
        Assert.Throws<ArgumentException>(() => NativeAllocator.Free(onStack));
        Assert.Equal(badFrees + 2, Observe("allocator.bad_frees"));

        long maps = Observe("allocator.os.maps");
        NativeAllocator.Collect(true);
        void* large = NativeAllocator.Alloc(10 << 20);
        Assert.True(Observe("allocator.os.maps") > maps);
        NativeAllocator.Free(large);
        long purgesAndUnmaps = Observe("allocator.os.unmaps") + Observe("allocator.os.purges");
        NativeAllocator.Collect(true);
        Assert.True(Observe("allocator.os.unmaps") + Observe("allocator.os.purges") > purgesAndUnmaps);
    }

    [Fact]
    public void PoolInstrumentsFollowRentsAndReturns()
    {
        long rented = Observe("allocator.pool.rented");
        long outstanding = Observe("allocator.pool.outstanding");
        var owner = NativeMemoryPool.Shared.Rent(4096);
        Assert.Equal(rented + 1, Observe("allocator.pool.rented"));
        Assert.True(Observe("allocator.pool.outstanding") >= outstanding + 4096);
        owner.Dispose();
        Assert.Equal(outstanding, Observe("allocator.pool.outstanding"));

        long leaked = Observe("allocator.pool.leaked");
        RentAndDrop();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(leaked + 1, Observe("allocator.pool.leaked"));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void RentAndDrop() => NativeMemoryPool.Shared.Rent(1000).Memory.Span[0] = 1;

    [Fact]
    public void MeterIsCreatedOnlyOnceAListenerCanExistAndThenPublishesEveryInstrument()
    {
        // In a process of its own: the test host has DiagnosticSource loaded already.
        var findings = Probe.Run("metrics");
        Assert.Equal("False", findings["diagnosticsource-loaded-after-allocating"]);
        Assert.Equal("12", findings["instruments-published"]);
        Assert.True(long.Parse(findings["allocations"], System.Globalization.CultureInfo.InvariantCulture) >= 1000, findings["allocations"]);
    }
}
