using System.Diagnostics;

namespace Allocator.Tests;

/// <summary>Runs a scenario of the child program Allocator.Probe (copied to probe/ next to the tests) and collects its findings.</summary>
internal static class Probe
{
    /// <summary>The probe's own runtimeconfig.json.</summary>
    public static string RuntimeConfigPath => Path.Combine(AppContext.BaseDirectory, "probe", "Allocator.Probe.runtimeconfig.json");

    public static Dictionary<string, string> Run(string scenario, params (string Name, string Value)[] environment) =>
        Run(scenario, runtimeConfig: null, environment);

    /// <summary>As above, with the probe started under another runtimeconfig.json (for AppContext switches).</summary>
    public static Dictionary<string, string> Run(string scenario, string? runtimeConfig, params (string Name, string Value)[] environment)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "probe", "Allocator.Probe.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("the probe program was not built next to the tests", dll);
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (runtimeConfig is not null)
        {
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add("--runtimeconfig");
            start.ArgumentList.Add(runtimeConfig);
        }

        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(scenario);
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException($"probe {scenario} did not finish");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"probe {scenario} exited with {process.ExitCode}: {output}\n{error}");
        }

        var findings = new Dictionary<string, string>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0)
            {
                findings[line[..colon]] = line[(colon + 2)..].Trim();
            }
        }

        return findings;
    }
}
