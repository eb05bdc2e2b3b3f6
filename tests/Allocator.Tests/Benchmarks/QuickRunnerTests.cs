using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Micro;
using Allocator.Benchmarks.Quick;
using Allocator.Benchmarks.Workloads;
using Xunit;

namespace Allocator.Tests.Benchmarks;

/// <summary>Keeps the comparison suite working: the quick runner end to end at a tiny scale, and the workloads'
/// own data checks against an allocator that is wrong on purpose.</summary>
public sealed class QuickRunnerTests
{
    [Fact]
    public void QuickRunnerPassesEveryWorkloadAtTinyScale()
    {
        string output = Path.Combine(Path.GetTempPath(), "allocator-quick-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Ours and the GC cover both block kinds; jemalloc (when installed) covers loading a native competitor
            // in a child that needs the glibc static-TLS tunable. Three allocators keep the test near 20 s.
            QuickOptions options = QuickOptions.Parse(
                ["--scale", "tiny", "--threads", "2", "--allocators", "ours,jemalloc,gc", "--out", output]);
            var log = new StringWriter();

            int exitCode = QuickRunner.Run(options, log);

            Assert.True(exitCode == 0, log.ToString());
            string markdown = File.ReadAllText(Path.Combine(output, "quick.md"));
            Assert.All(Workload.All, workload => Assert.Contains(workload.Name, markdown));
            Assert.DoesNotContain("FAIL", markdown);
            Assert.Contains("geometric mean", log.ToString());
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData(11, 8, 2)]
    [InlineData(3, 1, 1)]
    [InlineData(4, 3, 3)]
    public void PlanRunsEveryCellOncePerRoundAndRotatesWhoGoesFirst(int workloads, int competitors, int rounds)
    {
        List<(int Cell, int Round)> plan = QuickRunner.Plan(workloads, competitors, rounds);

        Assert.Equal(workloads * competitors * rounds, plan.Count);
        for (int round = 0; round < rounds; round++)
        {
            List<int> cells = plan.Where(p => p.Round == round).Select(p => p.Cell).Order().ToList();
            Assert.Equal(Enumerable.Range(0, workloads * competitors), cells);
        }

        // Each workload's block of children starts with the allocator of the child that runs first.
        var firsts = new HashSet<int>();
        for (int at = 0; at < plan.Count; at += competitors)
        {
            firsts.Add(plan[at].Cell % competitors);
        }

        Assert.Equal(Math.Min(competitors, workloads * rounds), firsts.Count);
    }

    [Fact]
    public void RoundsCombineAsTheFastestTimeWithTheHighestMemory()
    {
        WorkloadResult Result(double seconds, long peak, long end) =>
            new("larson", "ours", true, null, seconds, 1000, 10, peak, end, true, 0, 0, 3);

        WorkloadResult combined = QuickRunner.Combine([Result(0.5, 100, 40), Result(0.3, 90, 50)]);

        Assert.Equal(0.3, combined.Seconds);
        Assert.Equal(100, combined.PeakRss);
        Assert.Equal(50, combined.EndRss);
        Assert.Equal(6, combined.Repetitions);

        WorkloadResult failed = WorkloadResult.Failed("larson", "ours", "boom");
        Assert.Same(failed, QuickRunner.Combine([Result(0.3, 90, 50), failed]));
    }

    [Fact]
    public void RoundsDefaultToTwoFromTheSmallScaleAndOneBelow()
    {
        Assert.Equal(2, QuickOptions.Parse([]).Rounds);
        Assert.Equal(1, QuickOptions.Parse(["--scale", "tiny"]).Rounds);
        Assert.Equal(3, QuickOptions.Parse(["--rounds", "3"]).Rounds);
    }

    [Fact]
    public void ScalingRunnerMeasuresOursInPairsAndWritesTheTable()
    {
        string output = Path.Combine(Path.GetTempPath(), "allocator-scaling-" + Guid.NewGuid().ToString("N"));
        try
        {
            int exitCode = ScalingRunner.Run(
                ["--allocators", "ours", "--rounds", "2", "--replacements", "20000", "--passes", "1", "--out", output]);

            Assert.Equal(0, exitCode);
            string markdown = File.ReadAllText(Path.Combine(output, "scaling.md"));
            foreach (string name in new[] { "ours", "reference (floor, no allocator work)" })
            {
                string row = markdown.Split('\n').Single(line => line.StartsWith($"| {name} |", StringComparison.Ordinal));
                string[] cells = row.Split('|', StringSplitOptions.TrimEntries);
                Assert.True(double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture) > 0, row);
                Assert.True(double.Parse(cells[3], System.Globalization.CultureInfo.InvariantCulture) > 0, row);
                Assert.True(double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture) > 0, row);
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    [Fact]
    public void ScalingTestSplitsTheSameWorkBetweenTwoThreads()
    {
        ScalingResult result = ScalingTest.Run<OursHeap>(rounds: 3, replacements: 10_000);

        Assert.Equal(3, result.Rounds);
        Assert.True(result.OneThreadMs > 0 && result.TwoThreadMs > 0);
        Assert.InRange(result.Scaling, result.LowestScaling, result.HighestScaling);
        Assert.Equal(OursHeap.Name, result.Allocator);
    }

    [Fact]
    public unsafe void ReferenceHeapReusesFreedBlocksOfTheirOwnClassOnly()
    {
        // Run on a fresh thread: the reference heap's state is per thread and never given back.
        OwnThread.Run(() =>
        {
            var blocks = new List<(nint Address, int Size)>();
            for (int size = 1; size <= 1024; size += 37)
            {
                blocks.Add(((nint)ReferenceHeap.Alloc((nuint)size), size));
            }

            var ordered = blocks.OrderBy(b => b.Address).ToList();
            for (int i = 1; i < ordered.Count; i++)
            {
                Assert.True(ordered[i - 1].Address + ordered[i - 1].Size <= ordered[i].Address, "blocks overlap");
            }

            nint freed = blocks[5].Address;
            ReferenceHeap.Free((void*)freed);
            Assert.NotEqual(freed, (nint)ReferenceHeap.Alloc((nuint)blocks[20].Size));
            Assert.Equal(freed, (nint)ReferenceHeap.Alloc((nuint)blocks[5].Size));
            Assert.Throws<NotSupportedException>(() => (nint)ReferenceHeap.Alloc(1025));
        });
    }

    public static TheoryData<string> WorkloadsWithLiveBlocks() =>
        new(Workload.All.Where(w => w is not FalseSharing).Select(w => w.Name));

    [Theory]
    [MemberData(nameof(WorkloadsWithLiveBlocks))]
    public void WorkloadDetectsAnAllocatorThatReturnsOneAddressTwice(string name)
    {
        Workload workload = Workload.Find(name)!;

        Assert.Throws<BlockCorruptedException>(() => workload.Run<OneBufferHeap, byte[]>(new WorkloadRun(1.0, 2)));
    }

    [Fact]
    public void MissingLibraryGivesTheInstallLine()
    {
        NativeLibraryInfo missing = NativeLibraries.Mimalloc with { SoName = "libmimalloc-does-not-exist.so.2" };

        bool available = NativeLibraries.IsAvailable(missing, out string? line);

        Assert.False(available);
        Assert.Contains("apt-get install -y libmimalloc2.0", line);
    }

    /// <summary>A wrong allocator: every block is the same buffer.</summary>
    private struct OneBufferHeap : IBlockHeap<byte[]>
    {
        private static readonly byte[] s_buffer = new byte[32 << 20];

        public static byte[] Alloc(int size) => s_buffer;

        public static void Free(byte[] block)
        {
        }

        public static Span<byte> Bytes(byte[] block, int size) => block.AsSpan(0, size);
    }
}
