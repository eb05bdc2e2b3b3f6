using System.Diagnostics;

namespace Allocator.Inspect.Tests;

/// <summary>
/// A child process to inspect: a scenario of Allocator.Probe (copied to probe/ next to the tests), or any other
/// program. Started, read up to its "ready" line, and ended (standard input closed, then killed) on dispose.
/// </summary>
internal sealed class TargetProgram : IDisposable
{
    private readonly Process _process;

    private readonly bool _waitsForInput;

    private TargetProgram(Process process, Dictionary<string, string> findings, bool waitsForInput)
    {
        _process = process;
        Findings = findings;
        _waitsForInput = waitsForInput;
    }

    public int ProcessId => _process.Id;

    /// <summary>The "name: value" lines the program printed before "ready".</summary>
    public Dictionary<string, string> Findings { get; }

    /// <summary>Where the tests' own build put the tool and its dependencies.</summary>
    public static string ToolDll => Path.Combine(AppContext.BaseDirectory, "Allocator.Inspect.dll");

    /// <summary>Starts Allocator.Probe's <paramref name="scenario"/> and waits for its "ready" line.</summary>
    public static TargetProgram StartProbe(string scenario, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "probe", "Allocator.Probe.dll"));
        start.ArgumentList.Add(scenario);
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        Process process = Process.Start(start)!;
        var findings = new Dictionary<string, string>();
        var ready = Task.Run(() =>
        {
            while (process.StandardOutput.ReadLine() is string line)
            {
                if (line == "ready")
                {
                    return true;
                }

                int colon = line.IndexOf(": ", StringComparison.Ordinal);
                if (colon > 0)
                {
                    findings[line[..colon]] = line[(colon + 2)..];
                }
            }

            return false;
        });
        if (!ready.Wait(TimeSpan.FromSeconds(60)) || !ready.Result)
        {
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException($"probe {scenario} did not get ready: {string.Join("; ", findings.Select(f => f.Key + ": " + f.Value))}");
        }

        return new TargetProgram(process, findings, waitsForInput: true);
    }

    /// <summary>Starts any program (one that prints nothing and waits, such as sleep).</summary>
    public static TargetProgram Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardInput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new TargetProgram(Process.Start(start)!, [], waitsForInput: false);
    }

    /// <summary>Runs the built tool as its own process: <c>dotnet Allocator.Inspect.dll ARGS</c>, optionally through a wrapper such as setpriv.</summary>
    public static (int ExitCode, string Output, string Error) RunTool(string[] wrapper, params string[] arguments)
    {
        var start = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string part in wrapper.Skip(1).Concat(wrapper.Length > 0 ? ["dotnet"] : []))
        {
            start.ArgumentList.Add(part);
        }

        start.ArgumentList.Add(wrapper.Length > 0 && !OperatingSystem.IsWindows() ? WorldReadableToolDll() : ToolDll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // An unprivileged user has no writable home: keep the host's first-run files out of it.
        start.Environment["HOME"] = Path.GetTempPath();
        start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException($"allocator-inspect {string.Join(' ', arguments)} did not finish");
        }

        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>
    /// The tool where any user can run it: the build output when every directory above it can be entered by others
    /// (as on the development machine), else a copy of its files under the temp directory.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string WorldReadableToolDll()
    {
        const UnixFileMode OthersEnter = UnixFileMode.OtherExecute;
        bool open = true;
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            open &= (File.GetUnixFileMode(d.FullName) & OthersEnter) != 0;
        }

        if (open && (File.GetUnixFileMode(ToolDll) & UnixFileMode.OtherRead) != 0)
        {
            return ToolDll;
        }

        string copy = Path.Combine(Path.GetTempPath(), "allocator-inspect-tool");
        Directory.CreateDirectory(copy);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (string file in Directory.EnumerateFiles(AppContext.BaseDirectory).Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)), overwrite: true);
        }

        return Path.Combine(copy, Path.GetFileName(ToolDll));
    }

    /// <summary>
    /// Runs the tool's entry point in this process: only for commands that attach to nothing. Attaching from the
    /// test host to one of its own children hangs now and then: the runtime's SIGCHLD handler reaps with
    /// waitpid(-1), which can swallow the ptrace stops that ClrMD waits for. The tool itself starts no children.
    /// </summary>
    public static (int ExitCode, string Output, string Error) RunInProcess(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(arguments, output, error);
        return (code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_waitsForInput || !_process.WaitForExit(5000))
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
