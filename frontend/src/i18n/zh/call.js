// Voice and video calls.
import { CALL_PREVIEW_TAGS } from '../../realtime/previews'

export default {
  media: { audio: '语音通话', video: '视频通话' },
  device: { audio: '麦克风', video: '摄像头或麦克风' },
  unavailable: {
    offline: '未连接到服务器，暂时无法通话',
    busy: '正在通话中',
  },
  incoming: {
    title: '来电',
    audio: '邀请你进行语音通话',
    video: '邀请你进行视频通话',
    accept: '接听',
    decline: '拒绝',
  },
  status: {
    preparing: '正在打开{device}…',
    inviting: '正在呼叫…',
    outgoing: '等待对方接听…',
    accepting: '正在接通…',
  },
  connection: {
    connecting: '连接中…',
    connected: '已连接',
    reconnecting: '网络不稳定，正在重新连接…',
    failed: '连接失败',
  },
  controls: {
    mute: '静音',
    unmute: '取消静音',
    cameraOff: '关闭摄像头',
    cameraOn: '打开摄像头',
    hangup: '挂断',
    cancel: '取消',
  },
  remoteMuted: '对方已静音',
  remoteCameraOff: '对方已关闭摄像头',
  cameraIsOff: '摄像头已关闭',
  me: '我',
  // A call record in the message list (a completed one shows its media and length).
  record: {
    missed: '未接听',
    cancelled: '已取消',
    declined: '已拒绝',
    busy: '对方忙',
    failed: '通话失败',
  },
  // The server's preview tags; a missed call the viewer has not seen reads as missed.
  preview: {
    ...CALL_PREVIEW_TAGS,
    missed: { audio: '[未接语音通话]', video: '[未接视频通话]' },
  },
  notice: {
    offline: '未连接到服务器，无法通话',
    refused: '无法发起通话，请稍后再试',
    answeredElsewhere: '已在其他设备上接听',
    connectionLost: '连接已断开，通话已结束',
    media: {
      denied: '无法使用{device}：浏览器未获授权，通话已结束',
      noDevice: '未找到可用的{device}，通话已结束',
      busy: '{device}正被其他程序占用，通话已结束',
      unsupported: '当前浏览器不支持通话（需要 HTTPS）',
      failed: '无法打开{device}，通话已结束',
    },
    self: { failed: '网络连接失败，通话已结束' },
    caller: {
      completed: '对方已挂断',
      declined: '对方已拒绝',
      busy: '对方忙线中，请稍后再试',
      missed: '对方无应答',
      cancelled: '通话已取消',
      failed: '通话连接失败',
    },
    callee: {
      completed: '对方已挂断',
      declined: '已拒绝来电',
      busy: '对方忙线中',
      missed: '你错过了一个来电',
      cancelled: '对方已取消通话',
      failed: '通话连接失败',
    },
  },
}
