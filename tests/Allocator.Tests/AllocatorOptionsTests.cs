using System.Text.Json.Nodes;
using Xunit;

namespace Allocator.Tests;

/// <summary>Options come from environment variables, else AppContext switches, else defaults; bad values are ignored.</summary>
public class AllocatorOptionsTests
{
    [Fact]
    public void DefaultsApplyWhenNothingIsSet()
    {
        var options = Probe.Run("options");
        Assert.Equal("100", options["purge-delay-ms"]);
        Assert.Equal("False", options["checked"]);
        Assert.Equal((1024L << 20).ToString(), options["large-cache-bytes"]);
        Assert.Equal("64", options["large-cache-count"]);
        Assert.Equal("True", options["label"]);
        Assert.Equal("True", options["stack-map"]);
    }

    [Fact]
    public void EnvironmentVariablesSetOptions()
    {
        var options = Probe.Run(
            "options",
            ("ALLOCATOR_PURGE_DELAY_MS", "250"),
            ("ALLOCATOR_CHECKED", "yes"),
            ("ALLOCATOR_LARGE_CACHE_MB", "5"),
            ("ALLOCATOR_LARGE_CACHE_COUNT", "not-a-number"),
            ("ALLOCATOR_LABEL", "0"),
            ("ALLOCATOR_STACK_MAP", "false"));
        Assert.Equal("250", options["purge-delay-ms"]);
        Assert.Equal("True", options["checked"]);
        Assert.Equal((5L << 20).ToString(), options["large-cache-bytes"]);
        Assert.Equal("64", options["large-cache-count"]);
        Assert.Equal("False", options["label"]);
        Assert.Equal("False", options["stack-map"]);
    }

    [Fact]
    public void AppContextSwitchesSetOptionsAndTheEnvironmentWins()
    {
        JsonNode config = JsonNode.Parse(File.ReadAllText(Probe.RuntimeConfigPath))!;
        config["runtimeOptions"]!["configProperties"] = new JsonObject
        {
            ["Allocator.PurgeDelayMs"] = 40,
            ["Allocator.Checked"] = true,
            ["Allocator.LargeCacheCount"] = 3,
        };
        string path = Path.Combine(Path.GetTempPath(), $"allocator-options-{Environment.ProcessId}.runtimeconfig.json");
        File.WriteAllText(path, config.ToJsonString());
        try
        {
            var options = Probe.Run("options", path, ("ALLOCATOR_LARGE_CACHE_COUNT", "2"));
            Assert.Equal("40", options["purge-delay-ms"]);
            Assert.Equal("True", options["checked"]);
            Assert.Equal("2", options["large-cache-count"]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
