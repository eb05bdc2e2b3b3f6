using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Allocator.Inspect.Tests;

/// <summary><c>heap</c>: the numbers read out of the target's memory equal the target's own statistics.</summary>
[Collection(InspectedProbeCollection.Name)]
public sealed class HeapCommandTests(InspectedProbe probe)
{
    private HeapReport ReadJson()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "heap", Pid, "--json");
        Assert.True(code == 0, error);
        return JsonSerializer.Deserialize(output, InspectJson.Default.HeapReport)!;
    }

    private string Pid => probe.ProcessId.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Every_size_class_matches_the_targets_statistics()
    {
        HeapReport report = ReadJson();
        var expected = probe.Stats.GetProperty("SizeClasses").EnumerateArray()
            .Select(c => (Block: c.GetProperty("BlockSize").GetInt32(), Pages: c.GetProperty("Pages").GetInt32(), Live: c.GetProperty("LiveBlocks").GetInt64(), Free: c.GetProperty("FreeBlocks").GetInt64()))
            .ToList();
        var actual = report.SizeClasses.Select(c => (Block: c.BlockSize, c.Pages, Live: c.LiveBlocks, Free: c.FreeBlocks)).ToList();
        Assert.Equal(expected, actual);
        Assert.All(report.SizeClasses, c => Assert.Equal(c.LiveBlocks * c.BlockSize, c.LiveBytes));
        Assert.All(report.SizeClasses, c => Assert.Equal(c.FreeBlocks * c.BlockSize, c.FreeBytes));
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void Blocks_freed_by_another_thread_are_counted_free_from_the_thread_free_list()
    {
        HeapReport report = ReadJson();
        int blockSize = probe.Stats.GetProperty("RemoteFreedBlockSize").GetInt32();
        SizeClassReport row = Assert.Single(report.SizeClasses, c => c.BlockSize == blockSize);
        Assert.Equal(probe.Stats.GetProperty("RemoteFreed").GetInt32(), row.ThreadFreeBlocks);
    }

    [Fact]
    public void Totals_and_large_blocks_match_the_targets_statistics()
    {
        HeapReport report = ReadJson();
        JsonElement stats = probe.Stats;
        HeapTotals totals = report.Totals;
        Assert.Equal(stats.GetProperty("BytesInUse").GetInt64(), totals.BytesInUse);
        Assert.Equal(stats.GetProperty("BytesCommitted").GetInt64(), totals.BytesCommitted);
        Assert.Equal(stats.GetProperty("BytesReserved").GetInt64(), totals.BytesReserved);
        Assert.Equal(stats.GetProperty("Segments").GetInt64(), totals.Segments);
        Assert.Equal(stats.GetProperty("Segments").GetInt64(), report.Segments.Count);
        Assert.Equal(stats.GetProperty("ThreadHeaps").GetInt32(), totals.ThreadHeaps);
        Assert.Equal(stats.GetProperty("LargeBlocks").GetInt64(), totals.LargeBlocks);
        Assert.Equal(stats.GetProperty("LargeBytesInUse").GetInt64(), totals.LargeBytes);
        Assert.Equal(stats.GetProperty("LargeCacheBytes").GetInt64(), totals.LargeCacheBytes);
        Assert.Equal(totals.LargeBlocks, report.LargeBlocks.Count);
        Assert.Equal(totals.Pages, report.Segments.Sum(s => s.Pages.Count(p => p.State is "used" or "abandoned")));

        // The probe's 1, 3 and 5 MiB blocks, and the outstanding 2 MiB owner's, are among the large blocks.
        foreach (ulong size in new ulong[] { 1 << 20, 3 << 20, 5 << 20, 2 << 20 })
        {
            Assert.Contains(report.LargeBlocks, b => b.Size == size);
        }

        double fragmentation = 1 - ((double)totals.ArenaLiveBytes / totals.PageBytes);
        Assert.Equal(fragmentation, totals.Fragmentation, 9);
    }

    [Fact]
    public void Text_output_has_a_row_per_class_and_the_totals()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "heap", Pid);
        Assert.True(code == 0, error);
        Assert.Empty(error);
        long inUse = probe.Stats.GetProperty("BytesInUse").GetInt64();
        Assert.Contains($"({inUse.ToString("N0", CultureInfo.InvariantCulture)} bytes)", output, StringComparison.Ordinal);
        foreach (JsonElement row in probe.Stats.GetProperty("SizeClasses").EnumerateArray())
        {
            string block = row.GetProperty("BlockSize").GetInt32().ToString("N0", CultureInfo.InvariantCulture) + " B";
            Assert.Contains(output.Split('\n'), line => line.Contains(block, StringComparison.Ordinal));
        }

        Assert.Contains("fragmentation", output, StringComparison.Ordinal);
        Assert.Contains("large blocks:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Png_is_a_valid_picture()
    {
        string path = Path.Combine(Path.GetTempPath(), $"allocator-inspect-{Guid.NewGuid():n}.png");
        try
        {
            (int code, string output, string error) = TargetProgram.RunTool([], "heap", Pid, "--png", path);
            Assert.True(code == 0, error);
            Assert.Contains($"picture: {path}", output, StringComparison.Ordinal);
            byte[] png = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
            int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16));
            int height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
            Assert.Equal(1400, width);
            Assert.True(height >= 160, $"height {height}");
            Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(png, png.Length - 8, 4));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Reading_does_not_disturb_the_target_two_runs_agree()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "heap", Pid, "--json");
        Assert.True(code == 0, error);
        HeapReport report = JsonSerializer.Deserialize(output, InspectJson.Default.HeapReport)!;
        Assert.Equal(probe.Stats.GetProperty("BytesInUse").GetInt64(), report.Totals.BytesInUse);
        Assert.Equal(ReadJson().SizeClasses, report.SizeClasses);
    }
}
