using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IlgpuStyle.IO;
using IlgpuStyle.Model;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.IO;

/// <summary>
/// A minimal HTTP/1.1 server on the loopback address: one request per connection, the answer chosen per request by the
/// test (status, body, where a Range starts, and optionally a connection cut after some bytes).
/// </summary>
sealed class LoopbackServer : IDisposable
{
    public sealed record Answer(int Status, byte[] Body, long? RangeFrom = null, long? Total = null, int? CutAfter = null);

    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly Func<int, long?, Answer> answer;
    readonly Task loop;
    public readonly List<long?> Ranges = new();   // the Range start of each request (null: none)

    public LoopbackServer(Func<int, long?, Answer> answer)
    {
        this.answer = answer;
        listener.Start();
        loop = Task.Run(Serve);
    }

    public string Url(string path) => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/{path}";

    async Task Serve()
    {
        while (true)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(); }
            catch (Exception) { return; }
            using (client)
            {
                var stream = client.GetStream();
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n") && await stream.ReadAsync(one) == 1) head.Append((char)one[0]);
                var range = head.ToString().Split("\r\n").FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase));
                long? from = range is null ? null : long.Parse(range.Split('=')[1].TrimEnd('-'));
                int index;
                lock (Ranges) { index = Ranges.Count; Ranges.Add(from); }
                var a = answer(index, from);
                string reason = a.Status switch { 200 => "OK", 206 => "Partial Content", 404 => "Not Found", 416 => "Range Not Satisfiable", _ => "Status" };
                var headers = new StringBuilder($"HTTP/1.1 {a.Status} {reason}\r\nContent-Length: {a.Body.Length}\r\nConnection: close\r\n");
                if (a.Status == 206) headers.Append($"Content-Range: bytes {a.RangeFrom}-{a.RangeFrom + a.Body.Length - 1}/{a.Total}\r\n");
                headers.Append("\r\n");
                try
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(headers.ToString()));
                    await stream.WriteAsync(a.Body.AsMemory(0, a.CutAfter ?? a.Body.Length));
                    await stream.FlushAsync();
                    if (a.CutAfter is not null) client.Client.LingerState = new LingerOption(true, 0);   // a reset, as a dropped line
                }
                catch (IOException) { }
            }
        }
    }

    public void Dispose()
    {
        listener.Stop();
        loop.Wait(TimeSpan.FromSeconds(5));
    }
}

/// <summary>The download: the file checked and renamed, a wrong checksum refused, a cut connection resumed, 404, no server.</summary>
public class DownloadTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ilgpustyle-download-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    byte[] Payload(int seed, int bytes = 3 << 20)
    {
        output.WriteLine($"payload seed {seed}, {bytes} bytes");
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    static string Md5(byte[] data) => Convert.ToHexStringLower(MD5.HashData(data));

    static LoopbackServer.Answer Serve(byte[] data, long? from) =>
        from is { } f ? new(206, data[(int)f..], f, data.Length) : new(200, data);

    [Fact]
    public void AGoodFileIsCheckedThenRenamed()
    {
        var data = Payload(1);
        using var server = new LoopbackServer((_, from) => Serve(data, from));
        string path = Path.Combine(dir, "w.h5");
        var seen = new List<DownloadProgress>();
        Assert.True(Download.Fetch(server.Url("w.h5"), path, Md5(data), new Reporter(seen.Add)));
        Assert.Equal(data, File.ReadAllBytes(path));
        Assert.False(File.Exists(Download.PartPath(path)));
        Assert.Equal(data.Length, seen[^1].Done);
        Assert.Equal(data.Length, seen[^1].Total);
        // Already there and checking out: no second request.
        Assert.False(Download.Fetch(server.Url("w.h5"), path, Md5(data)));
        Assert.Single(server.Ranges);
    }

    [Fact]
    public void AWrongChecksumLeavesNothingUnderTheFinalName()
    {
        var data = Payload(2);
        using var server = new LoopbackServer((_, from) => Serve(data, from));
        string path = Path.Combine(dir, "w.h5");
        var e = Assert.Throws<DownloadException>(() => Download.Fetch(server.Url("w.h5"), path, Md5(Payload(3))));
        output.WriteLine(e.Message);
        Assert.Contains("does not check out", e.Message);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(Download.PartPath(path)));
    }

    [Fact]
    public void ACutConnectionResumesFromThePart()
    {
        var data = Payload(4);
        const int cut = 1 << 20;
        using var server = new LoopbackServer((i, from) => i == 0 ? new LoopbackServer.Answer(200, data, CutAfter: cut) : Serve(data, from));
        string path = Path.Combine(dir, "w.h5");
        var e = Assert.Throws<DownloadException>(() => Download.Fetch(server.Url("w.h5"), path, Md5(data)));
        output.WriteLine(e.Message);
        Assert.Contains("run the same command again to resume", e.Message);
        Assert.False(File.Exists(path));
        long kept = new FileInfo(Download.PartPath(path)).Length;
        Assert.InRange(kept, 1, cut);

        Assert.True(Download.Fetch(server.Url("w.h5"), path, Md5(data)));
        Assert.Equal(new long?[] { null, kept }, server.Ranges);   // the second request asked for the rest only
        Assert.Equal(data, File.ReadAllBytes(path));
        Assert.False(File.Exists(Download.PartPath(path)));
    }

    [Fact]
    public void NotFoundIsOneLine()
    {
        using var server = new LoopbackServer((_, _) => new(404, Encoding.ASCII.GetBytes("no")));
        string path = Path.Combine(dir, "w.h5");
        var e = Assert.Throws<DownloadException>(() => Download.Fetch(server.Url("missing.h5"), path, Md5(new byte[1])));
        Assert.Contains("answered 404 Not Found", e.Message);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(Download.PartPath(path)));
    }

    [Fact]
    public void NoServerSaysSoAndWhatToDo()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();   // nothing listens there now
        string path = Path.Combine(dir, "w.h5");
        var e = Assert.Throws<DownloadException>(() => Download.Fetch($"http://127.0.0.1:{port}/w.h5", path, Md5(new byte[1])));
        output.WriteLine(e.Message);
        Assert.Contains("cannot reach 127.0.0.1", e.Message);
        Assert.Contains("copy it to", e.Message);
        Assert.False(File.Exists(path));
    }

    /// <summary>The command: a mirror whose file is not Keras's VGG19 is refused in one line, and nothing is left.</summary>
    [Fact]
    public void TheCommandRefusesAMirrorsWrongFile()
    {
        var data = Payload(5, 1 << 16);
        using var server = new LoopbackServer((_, from) => Serve(data, from));
        var (code, stdout, stderr) = CliRunner.Run("weights", "download", "--url", server.Url("vgg19.h5"), "--to", dir);
        output.WriteLine(stdout + stderr);
        Assert.Equal(1, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("does not check out", stderr);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void ListSaysWhereItLooksAndChecksTheFiles()
    {
        var (code, stdout, stderr) = CliRunner.Run("weights", "list", "--format", "json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var places = json.RootElement.GetProperty("places").EnumerateArray().Select(p => p.GetProperty("place").GetString()).Distinct().ToArray();
        Assert.Equal(new[] { "weights/", "Keras cache", "torch hub cache" }, places);
        var bundled = json.RootElement.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("place").GetString() == "bundled (NuGet)");
        Assert.True(bundled.GetProperty("checks_out").GetBoolean(), bundled.ToString());

        // A file under a known name that is not the real one.
        Directory.CreateDirectory(dir);
        string fake = Path.Combine(dir, WeightsPlaces.KerasVgg19.FileName);
        File.WriteAllBytes(fake, Payload(6, 1000));
        var verdict = WeightsPlaces.Verify(WeightsPlaces.Describe("test", fake));
        Assert.NotNull(verdict);
        Assert.False(verdict.Value.Ok);
        Assert.Contains("80,134,624", verdict.Value.Says);
    }

    sealed class Reporter(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
