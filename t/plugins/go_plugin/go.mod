module go_plugin

go 1.24
