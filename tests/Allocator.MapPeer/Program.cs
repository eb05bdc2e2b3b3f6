using Allocator.Mapping;

namespace Allocator.MapPeer;

/// <summary>
/// A small child process for the cross-process tests: <c>dotnet Allocator.MapPeer.dll PATH LENGTH</c> maps
/// the first LENGTH bytes of PATH shared and read-write, prints <c>ready</c>, then serves one command per line
/// on standard input, answering one line on standard output:
/// <list type="bullet">
/// <item><c>read OFFSET COUNT</c>: prints the bytes now in the mapping, in hexadecimal;</item>
/// <item><c>write OFFSET HEX</c>: stores the bytes in the mapping (no msync) and prints <c>ok</c>;</item>
/// <item><c>exit</c>: unmaps and exits with 0.</item>
/// </list>
/// Anything else prints <c>error ...</c> and exits with 2.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: Allocator.MapPeer PATH LENGTH");
            return 2;
        }

        using MemoryMapping mapping = MemoryMapping.CreateFileShared(args[0], 0, long.Parse(args[1]), MappingProtection.ReadWrite);
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (Console.In.ReadLine() is string line)
        {
            string[] words = line.Split(' ');
            switch (words)
            {
                case ["read", var offset, var count]:
                    Console.Out.WriteLine(Convert.ToHexString(mapping.GetSpan(nuint.Parse(offset), int.Parse(count))));
                    break;
                case ["write", var offset, var hex]:
                    byte[] bytes = Convert.FromHexString(hex);
                    bytes.CopyTo(mapping.GetSpan(nuint.Parse(offset), bytes.Length));
                    Console.Out.WriteLine("ok");
                    break;
                case ["exit"]:
                    return 0;
                default:
                    Console.Out.WriteLine("error: unknown command: " + line);
                    return 2;
            }

            Console.Out.Flush();
        }

        return 0;
    }
}
