using System.Globalization;
using System.Text.Json;
using Allocator.Mapping;

namespace Allocator.Inspect;

/// <summary>What <c>allocator-inspect maps</c> found: the process's mappings with RSS, the allocator's marked.</summary>
/// <param name="ProcessId">The inspected process.</param>
/// <param name="ProcessName">Its command name.</param>
/// <param name="Identification">"labelled" when the kernel shows the allocator's <c>[anon:allocator-…]</c> labels; "identified by address" when it does not (the addresses come from the allocator's state).</param>
/// <param name="Regions">Every line of /proc/PID/smaps, in address order.</param>
/// <param name="Totals">Sums over all regions and over the allocator's.</param>
public sealed record MapsReport(int ProcessId, string ProcessName, string Identification, IReadOnlyList<MapRegion> Regions, MapTotals Totals);

/// <summary>One mapping (a kernel VMA).</summary>
/// <param name="Start">First address.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="Permissions">e.g. rw-p.</param>
/// <param name="Rss">Resident bytes (smaps Rss).</param>
/// <param name="Dirty">Private dirty bytes (smaps Private_Dirty).</param>
/// <param name="Mapping">The file or pseudo-path; empty for anonymous memory.</param>
/// <param name="Allocator">What of the allocator's lies here ("segment", "large block", "large cache", "segment map", or a label), or null.</param>
/// <param name="AllocatorBytes">Bytes of this mapping that are the allocator's (the kernel may merge a segment with neighbouring anonymous memory into one mapping).</param>
/// <param name="AllocatorRss">Of those, resident bytes (from /proc/PID/pagemap when identified by address).</param>
public sealed record MapRegion(ulong Start, long Size, string Permissions, long Rss, long Dirty, string Mapping, string? Allocator, long AllocatorBytes, long AllocatorRss);

/// <summary>Sums of a maps report.</summary>
/// <param name="Size">Mapped bytes.</param>
/// <param name="Rss">Resident bytes.</param>
/// <param name="Dirty">Private dirty bytes.</param>
/// <param name="AllocatorRegions">Mappings that hold allocator memory.</param>
/// <param name="AllocatorBytes">The allocator's mapped bytes.</param>
/// <param name="AllocatorRss">The allocator's resident bytes.</param>
public sealed record MapTotals(long Size, long Rss, long Dirty, int AllocatorRegions, long AllocatorBytes, long AllocatorRss);

/// <summary>
/// <c>maps &lt;pid&gt;</c>: like <c>pmap -x</c>, from <see cref="ProcessMemoryMap"/>. The allocator names its mappings
/// (<c>allocator-segment</c>, <c>allocator-large</c>, <c>allocator-map</c>) where the kernel allows it; where it refuses
/// (PR_SET_VMA_ANON_NAME needs CONFIG_ANON_VMA_NAME), the regions are found from the segment, large-block and
/// cache addresses read out of the allocator's state, and their resident bytes from /proc/PID/pagemap.
/// </summary>
internal static class MapsCommand
{
    private const string LabelPrefix = "allocator";

    public static void Run(Command command, TextWriter output)
    {
        List<(ulong Start, ulong Size, string Kind)> ranges;
        string name;
        using (TargetProcess target = TargetProcess.Attach(command.ProcessId))
        {
            name = target.Name;
            ranges = AllocatorRanges(target);
        }

        MapsReport report = Build(command.ProcessId, name, ranges);
        if (command.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, InspectJson.Output.MapsReport));
            return;
        }

        Write(report, output);
    }

    /// <summary>The allocator's address ranges, sorted: segments, live large blocks, cached large ranges, the segment map.</summary>
    private static List<(ulong Start, ulong Size, string Kind)> AllocatorRanges(TargetProcess target)
    {
        HeapReport heap = HeapReader.Read(target);
        var ranges = new List<(ulong Start, ulong Size, string Kind)>();
        ranges.AddRange(heap.Segments.Select(s => (s.Address, (ulong)Heap.Segment.Size, "segment")));
        ranges.AddRange(heap.LargeBlocks.Select(b => (b.Address, b.Size, "large block")));
        ranges.AddRange(heap.LargeCache.Select(b => (b.Address, b.Size, "large cache")));
        if (HeapReader.SegmentMapAddress(target) is ulong map and not 0)
        {
            ranges.Add((map, HeapReader.SegmentMapBytes, "segment map"));
        }

        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        return ranges;
    }

    private static MapsReport Build(int processId, string name, List<(ulong Start, ulong Size, string Kind)> ranges)
    {
        ProcessMemoryMap map;
        try
        {
            map = ProcessMemoryMap.Read(processId, includeUsage: true);
        }
        catch (ProcessNotFoundException)
        {
            throw new InspectException(InspectException.NoSuchProcess, $"process {processId} exited before its map could be read");
        }
        catch (UnauthorizedAccessException)
        {
            throw new InspectException(InspectException.NoPermission, $"no permission to read the memory map of process {processId} ({name})");
        }

        bool labelled = map.Regions.Any(r => r.AnonymousName?.StartsWith(LabelPrefix, StringComparison.Ordinal) == true);
        using var residency = new Residency(processId);
        var regions = new List<MapRegion>(map.Regions.Count);
        foreach (MemoryRegion region in map.Regions)
        {
            MemoryRegionUsage usage = region.Usage!;
            string? kind = null;
            long bytes = 0, rss = 0;
            if (region.AnonymousName is string label && label.StartsWith(LabelPrefix, StringComparison.Ordinal))
            {
                (kind, bytes, rss) = ($"[anon:{label}]", (long)region.Length, usage.Rss);
            }
            else if (!labelled)
            {
                var kinds = new SortedSet<string>(StringComparer.Ordinal);
                foreach ((ulong start, ulong size, string what) in ranges)
                {
                    ulong from = Math.Max(start, region.Start), to = Math.Min(start + size, region.End);
                    if (from < to)
                    {
                        kinds.Add(what);
                        bytes += (long)(to - from);
                        rss += residency.ResidentBytes(from, to);
                    }
                }

                kind = kinds.Count == 0 ? null : string.Join(", ", kinds);
            }

            regions.Add(new MapRegion(region.Start, (long)region.Length, region.Permissions, usage.Rss, usage.PrivateDirty, region.Path, kind, bytes, rss));
        }

        var totals = new MapTotals(
            regions.Sum(r => r.Size),
            regions.Sum(r => r.Rss),
            regions.Sum(r => r.Dirty),
            regions.Count(r => r.Allocator is not null),
            regions.Sum(r => r.AllocatorBytes),
            regions.Sum(r => r.AllocatorRss));
        return new MapsReport(processId, name, labelled ? "labelled" : "identified by address", regions, totals);
    }

    private static void Write(MapsReport report, TextWriter output)
    {
        string how = report.Identification == "labelled"
            ? "labelled by the kernel ([anon:allocator-…])"
            : "identified by address from the allocator's state (the kernel shows no [anon:allocator-…] labels)";
        output.WriteLine($"process {report.ProcessId} ({report.ProcessName}): memory map; the allocator's regions, marked *, are {how}");
        output.WriteLine($"{"Address",-16} {"Kbytes",9} {"RSS",9} {"Dirty",9} {"Mode",-5}  Mapping");
        foreach (MapRegion r in report.Regions)
        {
            string mark = r.Allocator is null ? string.Empty : $"  * allocator: {r.Allocator}";
            output.WriteLine($"{r.Start.ToString("x16", CultureInfo.InvariantCulture)} {r.Size / 1024,9} {r.Rss / 1024,9} {r.Dirty / 1024,9} {r.Permissions,-5}  {(r.Mapping.Length == 0 ? "[ anon ]" : r.Mapping)}{mark}");
        }

        MapTotals t = report.Totals;
        output.WriteLine($"{"----------------",-16} {"-------",9} {"-------",9} {"-------",9}");
        output.WriteLine($"{"total kB",-16} {t.Size / 1024,9} {t.Rss / 1024,9} {t.Dirty / 1024,9}");
        output.WriteLine($"allocator: {t.AllocatorRegions} regions, {Format.Bytes(t.AllocatorBytes)} mapped, {Format.Bytes(t.AllocatorRss)} resident ({Format.Percent(t.Rss == 0 ? 0 : (double)t.AllocatorRss / t.Rss)} of the process's RSS)");
    }

    /// <summary>Resident pages of a range, from /proc/PID/pagemap (bit 63: present, bit 62: swapped; both count, as smaps' Rss + Swap would).</summary>
    private sealed class Residency(int processId) : IDisposable
    {
        private const int PageSize = 4096;
        private FileStream? _pagemap;
        private bool _unavailable;

        public long ResidentBytes(ulong from, ulong to)
        {
            _pagemap ??= Open();
            if (_pagemap is null)
            {
                return 0;
            }

            long pages = (long)((to - from + PageSize - 1) / PageSize);
            var entries = new byte[pages * 8];
            try
            {
                _pagemap.Position = (long)(from / PageSize) * 8;
                _pagemap.ReadExactly(entries);
            }
            catch (IOException)
            {
                return 0;
            }

            long resident = 0;
            for (long i = 0; i < pages; i++)
            {
                ulong entry = BitConverter.ToUInt64(entries, (int)(i * 8));
                resident += (entry & (3UL << 62)) != 0 ? PageSize : 0;
            }

            return resident;
        }

        public void Dispose() => _pagemap?.Dispose();

        private FileStream? Open()
        {
            if (_unavailable)
            {
                return null;
            }

            try
            {
                return new FileStream($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                _unavailable = true;
                return null;
            }
        }
    }
}
