"""Guest addresses wrong in one part each, with the one line that names the part: checked
in process (tests/unit) and through every entry point (tests/server)."""


BAD_ADDRESSES = [
    ("local://?http=127.0.0.1:8080", "http=127.0.0.1:8080 is not an http:// address: write http=http://127.0.0.1:8080"),
    ("local://?http=http://host:99999", "http=http://host:99999: the port '99999' is not a number from 1 to 65535: "
                                        "write http=http://host:PORT"),
    ("local://?http=http://host:abc", "http=http://host:abc: the port 'abc' is not a number from 1 to 65535: "
                                      "write http=http://host:PORT"),
    ("local://?https=http://host:8443", "https=http://host:8443 is not an https:// address: write "
                                        "https=https://host:port"),
    ("local://?http=http://host:8080/app", "http=http://host:8080/app is more than http://host:port: write "
                                           "http=http://host:8080"),
    ("local://?http=", "http= has no value: give one, as in local:// or local://?http=http://127.0.0.1:8080, "
                       "or leave http= out"),
    ("local://?htp=http://host", "it has no part 'htp': its parts are http=, https="),
    ("local://somehost", "local:// names no host or path: it is always this machine: write local:// or "
                         "local://?http=http://127.0.0.1:8080"),
    ("ssh://me@host?key=k&key=j", "key= is given twice: give it once"),
    ("ssh://me@host?kye=~/.ssh/id", "it has no part 'kye': its parts are key=, http=, https="),
    ("ssh://me@host:22/home", "the path '/home' means nothing to SSH: leave it out; write it as "
                              "ssh://user@host:22?key=PATH"),
    ("ssh://me@host?https=https://[::1", "https=https://[::1 is not an https:// address: write "
                                         "https=https://host:port"),
    ("ssh://u@[::1:22", "a '[' is not closed by ']': an IPv6 host is written in brackets, as in [2001:db8::1]:22"),
    ("ssh://u@::1:22", "an IPv6 host must be in brackets: write it as ssh://user@[::1]:22"),
    ("ssh://u@[nohost]:22", "the host is not an address a URL can hold ('nohost' does not appear to be an IPv4 or "
                            "IPv6 address): write it as ssh://user@host:22?key=PATH"),
    ("vagrant://default?http=http://h", "a Vagrant guest is named by its machine's name alone: write "
                                        "vagrant://default, or vagrant://NAME for a machine the Vagrantfile names NAME"),
]
IDS = [address for address, _ in BAD_ADDRESSES]
