namespace Allocator.Mapping;

/// <summary>
/// One line of <c>/proc/&lt;pid&gt;/maps</c>: a virtual memory area with one protection and one backing.
/// </summary>
/// <remarks>
/// The kernel merges neighbouring areas with the same flags and backing into one line, and splits an area
/// when part of it changes (for example by <c>mprotect</c>), so a region can be larger or smaller than the
/// mapping that made it. <see cref="Path"/> is empty for plain anonymous memory, a file's path, or a
/// pseudo-path such as <c>[heap]</c>, <c>[stack]</c>, <c>[vdso]</c> or <c>[anon:NAME]</c>; a file that was
/// deleted has <see cref="IsDeleted"/> set and the <c> (deleted)</c> suffix removed from <see cref="Path"/>.
/// </remarks>
public sealed record MemoryRegion
{
    /// <summary>The first address of the region.</summary>
    public required nuint Start { get; init; }

    /// <summary>The address one past the last byte of the region.</summary>
    public required nuint End { get; init; }

    /// <summary>The length of the region in bytes.</summary>
    public nuint Length => End - Start;

    /// <summary>The pages can be read (<c>r</c>).</summary>
    public required bool CanRead { get; init; }

    /// <summary>The pages can be written (<c>w</c>).</summary>
    public required bool CanWrite { get; init; }

    /// <summary>The pages can be executed (<c>x</c>).</summary>
    public required bool CanExecute { get; init; }

    /// <summary>The region is shared (<c>s</c>): writes are seen by other mappings of the same pages. Otherwise private (<c>p</c>).</summary>
    public required bool IsShared { get; init; }

    /// <summary>The region's offset in its file, in bytes; 0 for anonymous memory.</summary>
    public required long Offset { get; init; }

    /// <summary>The major number of the device holding the file (0 for anonymous memory).</summary>
    public required int DeviceMajor { get; init; }

    /// <summary>The minor number of the device holding the file (0 for anonymous memory).</summary>
    public required int DeviceMinor { get; init; }

    /// <summary>The file's inode on its device; 0 for private anonymous memory.</summary>
    public required ulong Inode { get; init; }

    /// <summary>The path or pseudo-path, without a <c> (deleted)</c> suffix; empty for unnamed anonymous memory.</summary>
    public required string Path { get; init; }

    /// <summary>The file was deleted after it was mapped (the kernel appended <c> (deleted)</c>).</summary>
    public required bool IsDeleted { get; init; }

    /// <summary>Memory use from <c>/proc/&lt;pid&gt;/smaps</c>, when it was asked for; otherwise null.</summary>
    public MemoryRegionUsage? Usage { get; init; }

    /// <summary>The permissions as the kernel prints them, e.g. <c>rw-p</c> or <c>r-xs</c>.</summary>
    public string Permissions => string.Create(4, this, static (chars, region) =>
    {
        chars[0] = region.CanRead ? 'r' : '-';
        chars[1] = region.CanWrite ? 'w' : '-';
        chars[2] = region.CanExecute ? 'x' : '-';
        chars[3] = region.IsShared ? 's' : 'p';
    });

    /// <summary>
    /// The label given with <see cref="MemoryMapping.Name"/>: NAME for <c>[anon:NAME]</c> (or <c>[anon_shmem:NAME]</c>
    /// for shared anonymous memory); null for any other region.
    /// </summary>
    public string? AnonymousName
    {
        get
        {
            foreach (string prefix in (ReadOnlySpan<string>)["[anon:", "[anon_shmem:"])
            {
                if (Path.StartsWith(prefix, StringComparison.Ordinal) && Path.EndsWith(']'))
                {
                    return Path[prefix.Length..^1];
                }
            }

            return null;
        }
    }

    /// <summary>Whether <paramref name="address"/> lies in [<see cref="Start"/>, <see cref="End"/>).</summary>
    /// <param name="address">Any address.</param>
    /// <returns>True if the region holds the address.</returns>
    public bool Contains(nuint address) => address >= Start && address < End;
}

/// <summary>
/// How much memory a region uses, from <c>/proc/&lt;pid&gt;/smaps</c>. Sizes are in bytes (the kernel prints kB).
/// </summary>
/// <param name="Rss">Resident set: bytes of the region now in RAM.</param>
/// <param name="Pss">Proportional set: <paramref name="Rss"/> with each shared page divided among the processes sharing it.</param>
/// <param name="PrivateDirty">Bytes of resident pages that only this process maps and that were written.</param>
/// <param name="Swap">Bytes of the region swapped out.</param>
/// <param name="VmFlags">The kernel's two-letter flags for the area (<c>rd</c>, <c>wr</c>, <c>sh</c>, <c>rr</c> for random
/// advice, <c>sr</c> for sequential, <c>hg</c>/<c>nh</c> for (no) huge pages, ...); empty if the kernel printed none.</param>
public sealed record MemoryRegionUsage(long Rss, long Pss, long PrivateDirty, long Swap, IReadOnlyList<string> VmFlags);
