// The CSS of the Element Plus services called from scripts (ElMessage,
// ElMessageBox): the component resolver only sees template tags.
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
