using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Allocator.Inspect.Tests;

/// <summary><c>maps</c>: every segment and large block of the target lies in a region marked as the allocator's.</summary>
[Collection(InspectedProbeCollection.Name)]
public sealed class MapsCommandTests(InspectedProbe probe)
{
    private string Pid => probe.ProcessId.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Marks_the_regions_of_every_segment_and_large_block()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "maps", Pid, "--json");
        Assert.True(code == 0, error);
        MapsReport maps = JsonSerializer.Deserialize(output, InspectJson.Default.MapsReport)!;
        (code, output, error) = TargetProgram.RunTool([], "heap", Pid, "--json");
        Assert.True(code == 0, error);
        HeapReport heap = JsonSerializer.Deserialize(output, InspectJson.Default.HeapReport)!;

        // This kernel refuses PR_SET_VMA_ANON_NAME; where it does not, the labels are used instead.
        bool labelled = maps.Regions.Any(r => r.Mapping.StartsWith("[anon:allocator", StringComparison.Ordinal));
        Assert.Equal(labelled ? "labelled" : "identified by address", maps.Identification);

        var owned = heap.Segments.Select(s => (s.Address, Size: 4UL << 20)).Concat(heap.LargeBlocks.Select(b => (b.Address, b.Size))).ToList();
        foreach ((ulong address, ulong size) in owned)
        {
            MapRegion region = Assert.Single(maps.Regions, r => r.Start <= address && address < r.Start + (ulong)r.Size);
            Assert.NotNull(region.Allocator);
            Assert.True(address + size <= region.Start + (ulong)region.Size || maps.Regions.Any(r => r.Allocator is not null && r.Start == region.Start + (ulong)region.Size));
        }

        Assert.True(maps.Totals.AllocatorBytes >= owned.Sum(o => (long)o.Size), $"{maps.Totals.AllocatorBytes}");
        Assert.InRange(maps.Totals.AllocatorRss, 1, maps.Totals.AllocatorBytes);
        Assert.Equal(maps.Regions.Count(r => r.Allocator is not null), maps.Totals.AllocatorRegions);
        Assert.Equal(maps.Regions.Sum(r => r.Rss), maps.Totals.Rss);
    }

    [Fact]
    public void Text_output_is_like_pmap_with_the_allocators_regions_marked()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "maps", Pid);
        Assert.True(code == 0, error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Address", lines[1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("* allocator: ", StringComparison.Ordinal) && l.Contains("segment", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("[stack]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("total kB", StringComparison.Ordinal));
        Assert.StartsWith("allocator: ", lines[^1], StringComparison.Ordinal);
    }
}
