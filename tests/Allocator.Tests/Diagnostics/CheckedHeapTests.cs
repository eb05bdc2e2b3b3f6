using Xunit;

namespace Allocator.Tests.Diagnostics;

/// <summary>Checked mode: overflow caught at Free, writes after free caught at the next allocation, freed memory filled.</summary>
public unsafe class CheckedHeapTests
{
    [Fact]
    public void TheEnvironmentVariableTurnsCheckedModeOnForTheWholeFacade()
    {
        var findings = Probe.Run("checked", ("ALLOCATOR_CHECKED", "1"));
        Assert.Equal("True", findings["checked-mode"]);
        foreach (int size in new[] { 1, 40, 1000, 100_000, 1_000_000 })
        {
            Assert.StartsWith("InvalidOperationException", findings[$"overflow-{size}"]);
            Assert.Contains($"heap overflow: the block at", findings[$"overflow-{size}"]);
            Assert.Contains($"of {size} bytes was written past its end, at byte {size}", findings[$"overflow-{size}"]);
            Assert.StartsWith("InvalidOperationException", findings[$"overflow-{size}-freed-anyway"]);
            Assert.Contains("double free", findings[$"overflow-{size}-freed-anyway"]);
        }

        Assert.Contains("size record", findings["size-record"]);
        Assert.Equal("ok moved=True kept=True aligned=True usable=5000", findings["realloc"]);
        Assert.Equal("ok True", findings["zeroed"]);
        Assert.StartsWith("InvalidOperationException", findings["write-after-free"]);
        Assert.Contains("written after it was freed", findings["write-after-free"]);
        Assert.Equal("ok 0xdf", findings["freed-pattern"]);
        Assert.Equal("ok 100", findings["usable-size"]);
        Assert.Equal("ok 0", findings["still-works"]);

        var unchecked_ = Probe.Run("checked");
        Assert.Equal("False", unchecked_["checked-mode"]);
        Assert.StartsWith("ok", unchecked_["overflow-40"]);
    }
}
