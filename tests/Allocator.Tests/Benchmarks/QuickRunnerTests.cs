using Allocator.Benchmarks.Competitors;
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
