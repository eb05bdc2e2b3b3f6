using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Allocator.Inspect.Tests;

/// <summary>Every failure is one line on standard error and a non-zero exit code, never a stack trace.</summary>
public sealed class ErrorTests
{
    private static void AssertOneLine(string error, string expected)
    {
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("allocator-inspect: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_process_that_does_not_exist()
    {
        // The pid of a process that has exited (and been reaped) is free.
        using Process gone = Process.Start("true")!;
        gone.WaitForExit();
        string pid = gone.Id.ToString(CultureInfo.InvariantCulture);
        foreach (string command in new[] { "heap", "owners", "maps" })
        {
            (int code, _, string error) = TargetProgram.RunTool([], command, pid);
            Assert.Equal(InspectException.NoSuchProcess, code);
            AssertOneLine(error, $"no process with id {pid} exists");
        }
    }

    [Fact]
    public void A_process_that_is_not_dotnet()
    {
        using TargetProgram sleep = TargetProgram.Start("sleep", "60");
        string pid = sleep.ProcessId.ToString(CultureInfo.InvariantCulture);
        (int code, _, string error) = TargetProgram.RunTool([], "heap", pid);
        Assert.Equal(InspectException.NotDotNet, code);
        AssertOneLine(error, $"process {pid} (sleep) is not a .NET process");
    }

    [Fact]
    public void A_dotnet_process_without_the_library()
    {
        using TargetProgram idle = TargetProgram.StartProbe("idle");
        string pid = idle.ProcessId.ToString(CultureInfo.InvariantCulture);

        // The probe's assembly references the library, but this scenario never loads it.
        string maps = File.ReadAllText($"/proc/{pid}/maps");
        Assert.Contains("Allocator.Probe.dll", maps, StringComparison.Ordinal);
        Assert.DoesNotContain("/Allocator.dll", maps, StringComparison.Ordinal);
        foreach (string command in new[] { "heap", "owners", "maps" })
        {
            (int code, _, string error) = TargetProgram.RunTool([], command, pid);
            Assert.Equal(InspectException.NoAllocator, code);
            AssertOneLine(error, $"process {pid} (dotnet) is a .NET process, but the Allocator library is not loaded in it");
        }
    }

    [Fact]
    public void No_permission_to_attach()
    {
        // The tests run as root (CI too); the tool runs as nobody against a target that root owns.
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root", "these tests need root, to start a process that nobody may trace");
        using TargetProgram target = TargetProgram.StartProbe("idle");
        string pid = target.ProcessId.ToString(CultureInfo.InvariantCulture);
        (int code, string output, string error) = TargetProgram.RunTool(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], "heap", pid);
        Assert.True(code == InspectException.NoPermission, $"exit {code}: {output} {error}");
        AssertOneLine(error, $"no permission to attach to process {pid}");
        Assert.Empty(output);
    }

    [Fact]
    public void Bad_command_lines()
    {
        foreach (string[] args in new[] { Array.Empty<string>(), ["heap"], ["heap", "abc"], ["frob", "1"], ["maps", "1", "--png", "x.png"], ["heap", "0"] })
        {
            (int code, _, string error) = TargetProgram.RunInProcess(args);
            Assert.Equal(InspectException.Usage, code);
            Assert.StartsWith("allocator-inspect: ", error, StringComparison.Ordinal);
            Assert.Contains("usage: allocator-inspect heap <pid>", error, StringComparison.Ordinal);
        }
    }
}
