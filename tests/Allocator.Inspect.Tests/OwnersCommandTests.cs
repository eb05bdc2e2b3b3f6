using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Allocator.Inspect.Tests;

/// <summary>
/// <c>owners</c>: exactly the owners the probe still holds undisposed (5), not the disposed ones it still references
/// (4), not the leaked ones the pool already counted (3), and the 2 it dropped undisposed inside a no-GC region only
/// as unreachable.
/// </summary>
[Collection(InspectedProbeCollection.Name)]
public sealed class OwnersCommandTests(InspectedProbe probe)
{
    private string Pid => probe.ProcessId.ToString(CultureInfo.InvariantCulture);

    private OwnersReport ReadJson()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "owners", Pid, "--json");
        Assert.True(code == 0, error);
        return JsonSerializer.Deserialize(output, InspectJson.Default.OwnersReport)!;
    }

    [Fact]
    public void Finds_exactly_the_undisposed_owners_with_their_blocks_and_sizes()
    {
        OwnersReport report = ReadJson();
        var expected = probe.Stats.GetProperty("Outstanding").EnumerateArray()
            .Select(o => (Block: o.GetProperty("Block").GetUInt64(), Length: o.GetProperty("Length").GetInt32(), Bytes: o.GetProperty("Bytes").GetInt64()))
            .OrderByDescending(o => o.Bytes)
            .ToList();
        Assert.Equal(5, expected.Count);
        Assert.Equal(expected, report.Owners.Select(o => (o.Block, o.Length, o.Bytes)).ToList());
        Assert.Equal(expected.Count, report.Count);
        Assert.Equal(expected.Sum(o => o.Bytes), report.Bytes);
        Assert.All(report.Owners, o => Assert.Equal("Allocator.Buffers.NativeMemoryOwner<System.Byte>", o.Type));
    }

    [Fact]
    public void Disposed_leaked_and_unreachable_owners_are_not_counted_as_held()
    {
        OwnersReport report = ReadJson();
        JsonElement pool = probe.Stats.GetProperty("Pool");
        Assert.Equal(3, pool.GetProperty("Leaked").GetInt64());

        // The pool's Outstanding counts the 2 dropped owners too: it learns of a leak only at finalization.
        Assert.Equal(report.Count + 2, pool.GetProperty("Outstanding").GetInt64());
        Assert.Equal(2, report.Unreachable);
        Assert.Equal(4, report.Disposed);
    }

    [Fact]
    public void Root_path_of_the_largest_leads_from_a_root_through_the_static_list_to_it()
    {
        OwnersReport report = ReadJson();
        IReadOnlyList<string> path = report.LargestRootPath;
        Assert.StartsWith("root: ", path[0], StringComparison.Ordinal);
        Assert.EndsWith($"0x{report.Owners[0].Address:x} Allocator.Buffers.NativeMemoryOwner<System.Byte>", path[^1], StringComparison.Ordinal);
        Assert.Contains(path, step => step.EndsWith("System.Collections.Generic.List<Allocator.Buffers.NativeMemoryOwner<System.Byte>>", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_output_lists_the_owners_and_the_path()
    {
        (int code, string output, string error) = TargetProgram.RunTool([], "owners", Pid);
        Assert.True(code == 0, error);
        Assert.Contains(": 5 pool owners not disposed", output, StringComparison.Ordinal);
        Assert.Contains("2,097,152", output, StringComparison.Ordinal);
        Assert.Contains("root path of the largest:", output, StringComparison.Ordinal);
    }
}
