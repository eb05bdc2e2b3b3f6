using System.Globalization;

namespace Allocator.Mapping;

/// <summary>
/// The memory mappings of a process, read from <c>/proc/&lt;pid&gt;/maps</c> (and, on request,
/// <c>/proc/&lt;pid&gt;/smaps</c>) at one moment. A snapshot: it does not follow later changes.
/// </summary>
/// <remarks>
/// <para>
/// Each line of <c>maps</c> is <c>start-end perms offset major:minor inode [path]</c>, all numbers but the
/// inode in hexadecimal, e.g. <c>7fff3b400000-7fff3b421000 rw-p 00000000 00:00 0   [stack]</c>. The path
/// starts after the padding spaces and runs to the end of the line, so it may hold spaces.
/// <c>smaps</c> repeats each such line followed by <c>Key: value kB</c> lines.
/// </para>
/// <para>
/// A line that does not have this shape is a <see cref="FormatException"/> quoting it; a process that
/// does not exist is a <see cref="ProcessNotFoundException"/>.
/// </para>
/// </remarks>
public sealed class ProcessMemoryMap
{
    private readonly MemoryRegion[] _regions;

    private ProcessMemoryMap(int processId, MemoryRegion[] regions)
    {
        ProcessId = processId;
        _regions = regions;
        Regions = regions.AsReadOnly();
    }

    /// <summary>The process the map was read from (0 for a map parsed from text).</summary>
    public int ProcessId { get; }

    /// <summary>The regions in address order, as the kernel lists them.</summary>
    public IReadOnlyList<MemoryRegion> Regions { get; }

    /// <summary>Reads the mappings of the current process.</summary>
    /// <param name="includeUsage">Also read Rss, Pss, Private_Dirty, Swap and VmFlags for each region from <c>smaps</c> (slower).</param>
    /// <returns>The current process's map.</returns>
    public static ProcessMemoryMap ReadCurrent(bool includeUsage = false) => Read(Environment.ProcessId, includeUsage);

    /// <summary>Reads the mappings of the process <paramref name="processId"/>.</summary>
    /// <param name="processId">A process id.</param>
    /// <param name="includeUsage">Also read Rss, Pss, Private_Dirty, Swap and VmFlags for each region from <c>smaps</c> (slower).</param>
    /// <returns>That process's map.</returns>
    /// <exception cref="ProcessNotFoundException">No process has that id.</exception>
    /// <exception cref="UnauthorizedAccessException">This process may not read that process's map.</exception>
    /// <exception cref="FormatException">The kernel printed a line this parser does not understand.</exception>
    public static ProcessMemoryMap Read(int processId, bool includeUsage = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processId);
        string file = $"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/{(includeUsage ? "smaps" : "maps")}";
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ProcessNotFoundException(processId, file, e);
        }

        return new ProcessMemoryMap(processId, includeUsage ? ParseSmaps(text) : ParseMaps(text));
    }

    /// <summary>Parses the text of a <c>maps</c> file (or of an <c>smaps</c> file, usage included).</summary>
    /// <param name="text">The file's lines; an empty text is an empty map.</param>
    /// <returns>A map with <see cref="ProcessId"/> 0.</returns>
    /// <exception cref="FormatException">A line is malformed; the message quotes it.</exception>
    public static ProcessMemoryMap Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool isSmaps = false;
        foreach (ReadOnlySpan<char> line in text.AsSpan().EnumerateLines())
        {
            if (!line.IsEmpty && IsSmapsField(line))
            {
                isSmaps = true;
                break;
            }
        }

        return new ProcessMemoryMap(0, isSmaps ? ParseSmaps(text) : ParseMaps(text));
    }

    /// <summary>Parses one line of a <c>maps</c> file.</summary>
    /// <param name="line">e.g. <c>7f8a3c021000-7f8a3c176000 r-xp 00021000 08:01 12345   /lib/x86_64-linux-gnu/libc.so.6</c>.</param>
    /// <returns>The region the line describes.</returns>
    /// <exception cref="FormatException">The line is malformed; the message quotes it.</exception>
    public static MemoryRegion ParseLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return ParseLine(line.AsSpan());
    }

    /// <summary>The region that contains <paramref name="address"/>, or null if none does.</summary>
    /// <param name="address">Any address.</param>
    /// <returns>The region, or null.</returns>
    public MemoryRegion? Find(nuint address)
    {
        // The kernel lists regions in address order, without overlap: binary search.
        int lo = 0;
        int hi = _regions.Length - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            MemoryRegion region = _regions[mid];
            if (address < region.Start)
            {
                hi = mid - 1;
            }
            else if (address >= region.End)
            {
                lo = mid + 1;
            }
            else
            {
                return region;
            }
        }

        return null;
    }

    /// <summary>The region that contains <paramref name="address"/>, or null if none does.</summary>
    /// <param name="address">Any address, e.g. <see cref="MemoryMapping.Pointer"/>.</param>
    /// <returns>The region, or null.</returns>
    public MemoryRegion? Find(nint address) => Find((nuint)address);

    private static MemoryRegion[] ParseMaps(string text)
    {
        var regions = new List<MemoryRegion>();
        foreach (ReadOnlySpan<char> line in text.AsSpan().EnumerateLines())
        {
            if (!line.IsEmpty)
            {
                regions.Add(ParseLine(line));
            }
        }

        return [.. regions];
    }

    private static MemoryRegion[] ParseSmaps(string text)
    {
        var regions = new List<MemoryRegion>();
        MemoryRegion? current = null;
        long rss = 0, pss = 0, privateDirty = 0, swap = 0;
        IReadOnlyList<string> vmFlags = [];

        void Finish()
        {
            if (current is not null)
            {
                regions.Add(current with { Usage = new MemoryRegionUsage(rss, pss, privateDirty, swap, vmFlags) });
            }
        }

        foreach (ReadOnlySpan<char> line in text.AsSpan().EnumerateLines())
        {
            if (line.IsEmpty)
            {
                continue;
            }

            if (!IsSmapsField(line))
            {
                Finish();
                current = ParseLine(line);
                (rss, pss, privateDirty, swap, vmFlags) = (0, 0, 0, 0, []);
                continue;
            }

            if (current is null)
            {
                throw Malformed(line, "a field before the first region line");
            }

            int colon = line.IndexOf(':');
            ReadOnlySpan<char> key = line[..colon];
            ReadOnlySpan<char> value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "Rss": rss = ParseKilobytes(line, value); break;
                case "Pss": pss = ParseKilobytes(line, value); break;
                case "Private_Dirty": privateDirty = ParseKilobytes(line, value); break;
                case "Swap": swap = ParseKilobytes(line, value); break;
                case "VmFlags": vmFlags = value.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries); break;
                default: break;
            }
        }

        Finish();
        return [.. regions];
    }

    /// <summary>An smaps field line starts with a key and a colon ("Rss:"); a region line starts with a hex range.</summary>
    private static bool IsSmapsField(ReadOnlySpan<char> line)
    {
        int space = line.IndexOf(' ');
        ReadOnlySpan<char> first = space < 0 ? line : line[..space];
        return first.Length > 1 && first[^1] == ':';
    }

    private static long ParseKilobytes(ReadOnlySpan<char> line, ReadOnlySpan<char> value)
    {
        if (!value.EndsWith(" kB", StringComparison.Ordinal)
            || !long.TryParse(value[..^3].TrimEnd(), NumberStyles.None, CultureInfo.InvariantCulture, out long kilobytes))
        {
            throw Malformed(line, "a size that is not \"N kB\"");
        }

        return kilobytes * 1024;
    }

    private static MemoryRegion ParseLine(ReadOnlySpan<char> line)
    {
        // start-end perms offset major:minor inode [padding path]
        ReadOnlySpan<char> rest = line;
        ReadOnlySpan<char> range = NextField(line, ref rest, "the address range");
        ReadOnlySpan<char> perms = NextField(line, ref rest, "the permissions");
        ReadOnlySpan<char> offset = NextField(line, ref rest, "the offset");
        ReadOnlySpan<char> device = NextField(line, ref rest, "the device");
        ReadOnlySpan<char> inode = NextField(line, ref rest, "the inode");

        int dash = range.IndexOf('-');
        int colon = device.IndexOf(':');
        if (dash < 0
            || !nuint.TryParse(range[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out nuint start)
            || !nuint.TryParse(range[(dash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out nuint end)
            || end < start)
        {
            throw Malformed(line, "the address range is not start-end in hexadecimal");
        }

        if (perms.Length != 4
            || perms[0] is not ('r' or '-') || perms[1] is not ('w' or '-')
            || perms[2] is not ('x' or '-') || perms[3] is not ('p' or 's'))
        {
            throw Malformed(line, "the permissions are not four characters like rw-p");
        }

        if (!long.TryParse(offset, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long fileOffset)
            || colon < 0
            || !int.TryParse(device[..colon], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(device[(colon + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int minor)
            || !ulong.TryParse(inode, NumberStyles.None, CultureInfo.InvariantCulture, out ulong inodeNumber))
        {
            throw Malformed(line, "the offset, device or inode is not a number");
        }

        const string DeletedSuffix = " (deleted)";
        ReadOnlySpan<char> path = rest.TrimStart(' ');
        bool deleted = path.EndsWith(DeletedSuffix, StringComparison.Ordinal);
        if (deleted)
        {
            path = path[..^DeletedSuffix.Length];
        }

        return new MemoryRegion
        {
            Start = start,
            End = end,
            CanRead = perms[0] == 'r',
            CanWrite = perms[1] == 'w',
            CanExecute = perms[2] == 'x',
            IsShared = perms[3] == 's',
            Offset = fileOffset,
            DeviceMajor = major,
            DeviceMinor = minor,
            Inode = inodeNumber,
            Path = path.ToString(),
            IsDeleted = deleted,
        };
    }

    /// <summary>The next field up to one space; <paramref name="rest"/> moves past it.</summary>
    private static ReadOnlySpan<char> NextField(ReadOnlySpan<char> line, ref ReadOnlySpan<char> rest, string what)
    {
        int space = rest.IndexOf(' ');
        ReadOnlySpan<char> field = space < 0 ? rest : rest[..space];
        if (field.IsEmpty)
        {
            throw Malformed(line, what + " is missing");
        }

        rest = space < 0 ? [] : rest[(space + 1)..];
        return field;
    }

    private static FormatException Malformed(ReadOnlySpan<char> line, string reason) =>
        new($"Malformed /proc/<pid>/maps line ({reason}): \"{line}\"");
}
