using Allocator.Mapping;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>The maps and smaps parser on fixed sample lines, well-formed and malformed.</summary>
public sealed class ProcessMemoryMapParserTests
{
    /// <summary>A 64-bit address as nuint (the tests run on 64-bit Linux only).</summary>
    private static nuint A(ulong address) => checked((nuint)address);

    [Fact]
    public void A_library_line_gives_every_field()
    {
        MemoryRegion r = ProcessMemoryMap.ParseLine("7f8a3c021000-7f8a3c176000 r-xp 00021000 08:01 12345                      /lib/x86_64-linux-gnu/libc.so.6");

        Assert.Equal(A(0x7f8a3c021000), r.Start);
        Assert.Equal(A(0x7f8a3c176000), r.End);
        Assert.Equal((nuint)0x155000, r.Length);
        Assert.Equal((true, false, true, false), (r.CanRead, r.CanWrite, r.CanExecute, r.IsShared));
        Assert.Equal("r-xp", r.Permissions);
        Assert.Equal(0x21000, r.Offset);
        Assert.Equal((8, 1), (r.DeviceMajor, r.DeviceMinor));
        Assert.Equal(12345UL, r.Inode);
        Assert.Equal("/lib/x86_64-linux-gnu/libc.so.6", r.Path);
        Assert.False(r.IsDeleted);
        Assert.Null(r.AnonymousName);
        Assert.Null(r.Usage);
        Assert.True(r.Contains(A(0x7f8a3c021000)));
        Assert.True(r.Contains(A(0x7f8a3c175fff)));
        Assert.False(r.Contains(A(0x7f8a3c176000)));
    }

    [Theory]
    [InlineData("55d4a6a5e000-55d4a6a7f000 rw-p 00000000 00:00 0                          [heap]", "[heap]", "rw-p", false)]
    [InlineData("7fff3b400000-7fff3b421000 rw-p 00000000 00:00 0                          [stack]", "[stack]", "rw-p", false)]
    [InlineData("7f0000000000-7f0000002000 rw-p 00000000 00:00 0                          [anon:my heap 2]", "[anon:my heap 2]", "rw-p", false)]
    [InlineData("7fcc359bc000-7fcc359be000 rw-s 00000000 00:01 1058                       /dev/zero (deleted)", "/dev/zero", "rw-s", true)]
    [InlineData("7fcc359bc000-7fcc359be000 r--s 00002000 fd:01 77                         /tmp/a b  c.bin", "/tmp/a b  c.bin", "r--s", false)]
    [InlineData("7fcc359bc000-7fcc359be000 rw-s 00000000 fd:01 77                         /tmp/spaced name.bin (deleted)", "/tmp/spaced name.bin", "rw-s", true)]
    [InlineData("7fcc359bc000-7fcc359be000 ---p 00000000 00:00 0 ", "", "---p", false)]
    [InlineData("7fcc359bc000-7fcc359be000 ---p 00000000 00:00 0", "", "---p", false)]
    [InlineData("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", "[vsyscall]", "--xp", false)]
    public void Pseudo_paths_spaces_and_deleted_files_parse(string line, string path, string permissions, bool deleted)
    {
        MemoryRegion r = ProcessMemoryMap.ParseLine(line);

        Assert.Equal(path, r.Path);
        Assert.Equal(permissions, r.Permissions);
        Assert.Equal(deleted, r.IsDeleted);
    }

    [Theory]
    [InlineData("[anon:my heap 2]", "my heap 2")]
    [InlineData("[anon_shmem:ring]", "ring")]
    [InlineData("[heap]", null)]
    [InlineData("/tmp/[anon:x]", null)]
    public void AnonymousName_reads_the_label(string path, string? name)
    {
        MemoryRegion r = ProcessMemoryMap.ParseLine("7f0000000000-7f0000002000 rw-p 00000000 00:00 0 " + path);

        Assert.Equal(name, r.AnonymousName);
    }

    [Fact]
    public void Device_numbers_are_hexadecimal()
    {
        MemoryRegion r = ProcessMemoryMap.ParseLine("1000-2000 r--p 00000000 fd:1a 18446744073709551615 /x");

        Assert.Equal((0xfd, 0x1a), (r.DeviceMajor, r.DeviceMinor));
        Assert.Equal(ulong.MaxValue, r.Inode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("7f0000000000 rw-p 00000000 00:00 0")]
    [InlineData("7f0000002000-7f0000000000 rw-p 00000000 00:00 0")]
    [InlineData("7f000000zzzz-7f0000002000 rw-p 00000000 00:00 0")]
    [InlineData("7f0000000000-7f0000002000 rw- 00000000 00:00 0")]
    [InlineData("7f0000000000-7f0000002000 rwxq 00000000 00:00 0")]
    [InlineData("7f0000000000-7f0000002000 wr-p 00000000 00:00 0")]
    [InlineData("7f0000000000-7f0000002000 rw-p 0000000g 00:00 0")]
    [InlineData("7f0000000000-7f0000002000 rw-p 00000000 0000 0")]
    [InlineData("7f0000000000-7f0000002000 rw-p 00000000 00:00 -1")]
    [InlineData("7f0000000000-7f0000002000 rw-p 00000000 00:00")]
    [InlineData("7f0000000000-7f0000002000 rw-p")]
    [InlineData("7f0000000000-7f0000002000  rw-p 00000000 00:00 0")]
    public void A_malformed_line_is_FormatException_quoting_it(string line)
    {
        var e = Assert.Throws<FormatException>(() => ProcessMemoryMap.ParseLine(line));

        Assert.Contains($"\"{line}\"", e.Message);
    }

    [Fact]
    public void Parse_reads_every_line_and_a_malformed_one_fails_the_whole_text()
    {
        const string Text = """
            55d4a6a5e000-55d4a6a7f000 rw-p 00000000 00:00 0                          [heap]
            7fff3b400000-7fff3b421000 rw-p 00000000 00:00 0                          [stack]

            """;

        ProcessMemoryMap map = ProcessMemoryMap.Parse(Text);

        Assert.Equal(0, map.ProcessId);
        Assert.Equal(["[heap]", "[stack]"], map.Regions.Select(r => r.Path));
        Assert.Equal("[stack]", map.Find(A(0x7fff3b410000))?.Path);
        Assert.Null(map.Find(A(0x7fff3b421000)));
        Assert.Empty(ProcessMemoryMap.Parse("").Regions);
        var e = Assert.Throws<FormatException>(() => ProcessMemoryMap.Parse(Text + "oops\n"));
        Assert.Contains("\"oops\"", e.Message);
    }

    [Fact]
    public void Parse_of_smaps_text_fills_usage_in_bytes()
    {
        const string Text = """
            7f0000000000-7f0000010000 rw-s 00000000 00:01 1058                       /dev/zero (deleted)
            Size:                 64 kB
            KernelPageSize:        4 kB
            Rss:                  16 kB
            Pss:                   8 kB
            Shared_Dirty:         16 kB
            Private_Dirty:         0 kB
            Swap:                  0 kB
            THPeligible:           0
            VmFlags: rd wr sh mr mw me ms sd
            7f0000010000-7f0000011000 r--p 00000000 fd:01 77                         /tmp/x
            Rss:                   4 kB
            Pss:                   4 kB
            Private_Dirty:         4 kB
            Swap:                 12 kB
            """;

        ProcessMemoryMap map = ProcessMemoryMap.Parse(Text);

        Assert.Equal(2, map.Regions.Count);
        MemoryRegionUsage first = map.Regions[0].Usage!;
        Assert.Equal((16 * 1024L, 8 * 1024L, 0L, 0L), (first.Rss, first.Pss, first.PrivateDirty, first.Swap));
        Assert.Equal(["rd", "wr", "sh", "mr", "mw", "me", "ms", "sd"], first.VmFlags);
        MemoryRegionUsage second = map.Regions[1].Usage!;
        Assert.Equal((4 * 1024L, 4 * 1024L, 4 * 1024L, 12 * 1024L), (second.Rss, second.Pss, second.PrivateDirty, second.Swap));
        Assert.Empty(second.VmFlags);
    }

    [Theory]
    [InlineData("Rss:                  16 kB\n7f0000000000-7f0000010000 rw-p 00000000 00:00 0\n", "Rss:                  16 kB")]
    [InlineData("7f0000000000-7f0000010000 rw-p 00000000 00:00 0\nRss:                  lots kB\n", "Rss:                  lots kB")]
    [InlineData("7f0000000000-7f0000010000 rw-p 00000000 00:00 0\nPss:                  16 MB\n", "Pss:                  16 MB")]
    public void Malformed_smaps_is_FormatException_quoting_the_line(string text, string line)
    {
        var e = Assert.Throws<FormatException>(() => ProcessMemoryMap.Parse(text));

        Assert.Contains($"\"{line}\"", e.Message);
    }
}
