namespace Allocator.Tests.Platform;

/// <summary>A file with known content in a per-process temporary folder, deleted on Dispose.</summary>
internal sealed class TempFile : IDisposable
{
    private static readonly string s_folder = CreateFolder();

    private TempFile(string path) => Path = path;

    public string Path { get; }

    /// <summary>A file holding <paramref name="content"/>; <paramref name="name"/> defaults to a unique name.</summary>
    public static TempFile Create(byte[] content, string? name = null)
    {
        string path = System.IO.Path.Combine(s_folder, name ?? Guid.NewGuid().ToString("N") + ".bin");
        File.WriteAllBytes(path, content);
        return new TempFile(path);
    }

    /// <summary>A file of <paramref name="pages"/> pages in which every byte of page i is (byte)(i + 1).</summary>
    public static TempFile CreatePages(int pages, string? name = null) => Create(PagePattern(pages), name);

    /// <summary>The content of <see cref="CreatePages"/>.</summary>
    public static byte[] PagePattern(int pages)
    {
        int pageSize = (int)Allocator.Mapping.MemoryMapping.PageSize;
        byte[] content = new byte[pages * pageSize];
        for (int i = 0; i < pages; i++)
        {
            content.AsSpan(i * pageSize, pageSize).Fill((byte)(i + 1));
        }

        return content;
    }

    public void Dispose() => File.Delete(Path);

    /// <summary>The folder for this test run, removed with whatever is left in it when the test process exits.</summary>
    private static string CreateFolder()
    {
        string folder = Directory.CreateTempSubdirectory("allocator-mapping-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a file still mapped by a crashed peer is harmless in the temp folder.
            }
        };
        return folder;
    }
}
