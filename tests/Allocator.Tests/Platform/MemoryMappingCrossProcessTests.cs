using System.Diagnostics;
using System.Text;
using Allocator.Mapping;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>
/// A shared file mapping seen from another process: the child program <c>Allocator.MapPeer</c> (built with
/// the tests and copied to <c>mappeer/</c> next to them) maps the same file, and each side reads what the
/// other wrote while both mappings are live, without msync.
/// </summary>
public sealed class MemoryMappingCrossProcessTests
{
    private static readonly int s_page = (int)MemoryMapping.PageSize;

    [Fact]
    public void File_shared_writes_are_seen_by_another_process_and_the_other_way_round()
    {
        using TempFile file = TempFile.Create(new byte[2 * s_page]);
        using MemoryMapping mapping = MemoryMapping.CreateFileShared(file.Path);
        using var peer = MapPeer.Start(file.Path, 2 * s_page);

        // This process writes; the peer reads through its own mapping.
        byte[] fromParent = Encoding.ASCII.GetBytes("hello from the parent");
        fromParent.CopyTo(mapping.GetSpan((nuint)s_page, fromParent.Length));
        Assert.Equal(Convert.ToHexString(fromParent), peer.Ask($"read {s_page} {fromParent.Length}"));

        // The peer writes; this process reads through its mapping.
        byte[] fromChild = Encoding.ASCII.GetBytes("hello from the child");
        Assert.Equal("ok", peer.Ask($"write 100 {Convert.ToHexString(fromChild)}"));
        Assert.Equal(fromChild, mapping.GetSpan(100, fromChild.Length).ToArray());

        // And the peer's map, read by pid, shows its shared writable mapping of the file.
        MemoryRegion? region = ProcessMemoryMap.Read(peer.ProcessId).Regions
            .FirstOrDefault(r => r.Path.EndsWith("/" + Path.GetFileName(file.Path), StringComparison.Ordinal));
        Assert.NotNull(region);
        Assert.Equal("rw-s", region.Permissions);

        Assert.Equal(0, peer.Exit());
    }

    /// <summary>The running child program, spoken to one line at a time.</summary>
    private sealed class MapPeer : IDisposable
    {
        private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
        private readonly Process _process;

        private MapPeer(Process process) => _process = process;

        public int ProcessId => _process.Id;

        public static MapPeer Start(string path, int length)
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "mappeer", "Allocator.MapPeer.dll");
            Assert.True(File.Exists(dll), $"The peer program is missing at {dll}; the test project's build copies it there.");

            var start = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(dll);
            start.ArgumentList.Add(path);
            start.ArgumentList.Add(length.ToString(System.Globalization.CultureInfo.InvariantCulture));

            var peer = new MapPeer(Process.Start(start)!);
            Assert.Equal("ready", peer.ReadLine());
            return peer;
        }

        public string Ask(string command)
        {
            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            return ReadLine();
        }

        public int Exit()
        {
            _process.StandardInput.WriteLine("exit");
            _process.StandardInput.Flush();
            Assert.True(_process.WaitForExit(s_timeout), "the peer did not exit");
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private string ReadLine()
        {
            Task<string?> line = _process.StandardOutput.ReadLineAsync();
            if (!line.Wait(s_timeout) || line.Result is null)
            {
                string error = _process.HasExited ? _process.StandardError.ReadToEnd() : "(still running)";
                Assert.Fail($"The peer did not answer. Its standard error: {error}");
            }

            return line.Result!;
        }

        /// <summary>The dotnet host running these tests (testhost runs under it), or the one on PATH.</summary>
        private static string DotnetHost()
        {
            string? current = Environment.ProcessPath;
            return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
        }
    }
}
